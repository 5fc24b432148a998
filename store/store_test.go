package store_test

import (
	"testing"

	"herald/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

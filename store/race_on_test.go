//go:build race

package store_test

// raceEnabled: the race detector multiplies CPU time and memory, so throughput and
// peak-RSS measurements are meaningless under it.
const raceEnabled = true

//go:build !race

package bot_test

// raceDetector: timings measured under the race detector are not the product's.
const raceDetector = false

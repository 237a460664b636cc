//go:build !race

package sheettest

// RaceEnabled is true under the race detector; see race.go.
const RaceEnabled = false

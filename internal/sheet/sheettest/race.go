//go:build race

package sheettest

// RaceEnabled is true under the race detector, which changes how much a parse allocates
// in total (a pasted list of a million lines: 4.6 MiB without it, 186 MiB with it) but not
// how much it holds at once; tests then bound the peak alone.
const RaceEnabled = true

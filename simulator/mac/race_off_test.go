//go:build !race

package mac

const raceOn = false

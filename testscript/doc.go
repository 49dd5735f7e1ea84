// Package testscript runs Warden's end-to-end command-line scripts
// (testdata/<group>/*.txtar) with the warden binary built into the test
// binary, so every script drives the real commands, files and exit codes.
package testscript

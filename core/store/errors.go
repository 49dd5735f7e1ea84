package store

import (
	"errors"
	"fmt"
)

// ErrSchemaTooNew reports that the database was migrated by a newer warden:
// its schema version is higher than the newest migration this binary
// embeds. Using it could corrupt data the newer version relies on, so [Open]
// refuses. Match it with errors.Is; use errors.As with
// [*SchemaTooNewError] for the version numbers.
var ErrSchemaTooNew = errors.New("database schema is newer than this warden supports")

// SchemaTooNewError is the error [Open] returns when the database schema
// version is higher than this binary supports. It matches [ErrSchemaTooNew].
type SchemaTooNewError struct {
	// Version is the schema version recorded in the database.
	Version int
	// Supported is the newest schema version this binary knows.
	Supported int
}

// Error implements error.
func (e *SchemaTooNewError) Error() string {
	return fmt.Sprintf("database schema version %d is newer than this warden supports (%d); upgrade warden",
		e.Version, e.Supported)
}

// Is reports whether target is [ErrSchemaTooNew].
func (e *SchemaTooNewError) Is(target error) bool { return target == ErrSchemaTooNew }

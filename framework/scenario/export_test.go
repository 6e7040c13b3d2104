package scenario

import "reflect"

// Internals the external tests (package scenario_test) look at.
var (
	MaxReportedErrors = maxReportedErrors
	NewFault          = newFault
	FaultSpecType     = faultSpecType
	DurationType      = durationType
)

// FaultKindTypes is the registry of fault kinds, by name.
func FaultKindTypes() map[string]reflect.Type { return faultKinds }

// FieldIndex maps the yaml names of a struct type's fields to their indexes.
func FieldIndex(t reflect.Type) map[string]int { return fieldsOf(t).index }

// RepositoryRoot is repositoryRoot, for the external tests.
var RepositoryRoot = repositoryRoot

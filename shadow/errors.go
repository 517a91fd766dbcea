package shadow

import "fmt"

// Error is a shadow rejection with AWS's code and wording.
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s", e.Code, e.Message) }

// maxTokenLen is AWS's limit on clientToken.
const maxTokenLen = 64

var (
	errInvalidJSON     = &Error{400, "Invalid JSON"}
	errMissingState    = &Error{400, "Missing required node: state"}
	errStateNotObject  = &Error{400, "State node must be an object"}
	errDesiredType     = &Error{400, "Desired node must be an object"}
	errReportedType    = &Error{400, "Reported node must be an object"}
	errInvalidVersion  = &Error{400, "Invalid version"}
	errInvalidToken    = &Error{400, "Invalid clientToken"}
	errTooDeep         = &Error{400, "JSON contains too many levels of nesting; maximum is 6"}
	errInvalidNode     = &Error{400, "State contains an invalid node"}
	errVersionConflict = &Error{409, "Version conflict"}
	errTooLarge        = &Error{413, "The payload exceeds the maximum size allowed"}
	errNotUTF8         = &Error{415, "Unsupported documented encoding; supported encoding is UTF-8"}
)

func errNoShadow(name string) *Error {
	return &Error{404, fmt.Sprintf("No shadow exists with name: '%s'", name)}
}

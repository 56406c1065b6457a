package rhai

// STUB: owned by helper-fmt, to be replaced.

// toDisplay is the script-level Display form (print, to_string, interpolation).
func toDisplay(v Value) string { return "" }

// toDebug is the script-level Debug form (debug, to_debug).
func toDebug(v Value) string { return "" }

// String is the host's Display form of v (the corpus's result.value).
func (v Value) String() string { return "" }

// DebugString is the host's Debug form of v (the corpus's result.debug).
func (v Value) DebugString() string { return "" }

package picloud

// Confinement of the scripts written by restricted deploy tokens
// (Script.ConfinedTo; docs/access-control.md "Confined scripts").
//
// A script's pattern admits another script when the pattern is "" (an
// unconfined script admits every script) or the other's name matches it.
// Two scripts may reach each other (an event from one to the other, an
// import of one by the other) only when each admits the other: an
// unconfined pair is never refused, a confined script deals only with the
// scripts inside its pattern whose own patterns (if any) admit it.

// Admits reports whether s's confinement admits the script named name ("":
// every name; a nil s is unconfined).
func (s *Script) Admits(name string) bool {
	if s == nil || s.ConfinedTo == "" {
		return true
	}
	return ScriptPatternMatch(s.ConfinedTo, name)
}

// Confined reports whether s is confined to a pattern.
func (s *Script) Confined() bool { return s != nil && s.ConfinedTo != "" }

// MutuallyAdmitted reports whether a and b admit each other. A nil script
// (an emitter that is not a stored script any more) is unconfined and has
// the name "", which no confined script's pattern admits unless it admits
// every name.
func MutuallyAdmitted(a, b *Script) bool {
	return a.Admits(nameOf(b)) && b.Admits(nameOf(a))
}

func nameOf(s *Script) string {
	if s == nil {
		return ""
	}
	return s.Name
}

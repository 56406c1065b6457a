package prom

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// GatherAndCompare gathers r and compares the families named (all when none)
// with expected, in the text exposition format: nil when equal, else an error
// showing both. For tests (client_golang's testutil.GatherAndCompare).
func GatherAndCompare(r *Registry, expected io.Reader, names ...string) error {
	want, err := io.ReadAll(expected)
	if err != nil {
		return err
	}
	fs, err := r.Gather()
	if err != nil {
		return err
	}
	if len(names) > 0 {
		fs = slices.DeleteFunc(fs, func(f *Family) bool { return !slices.Contains(names, f.Name) })
	}
	var got strings.Builder
	if err := WriteText(&got, fs); err != nil {
		return err
	}
	// Families are compared in name order, whatever order expected lists
	// them in; blank lines and indentation do not count.
	norm := func(s string) string {
		type fam struct {
			name  string
			lines []string
		}
		var fams []*fam
		for l := range strings.Lines(s) {
			l = strings.TrimSpace(l)
			if l == "" {
				continue
			}
			name := ""
			if f := strings.Fields(l); len(f) >= 3 && (f[0] == "#") && (f[1] == "HELP" || f[1] == "TYPE") {
				name = f[2]
			}
			if len(fams) == 0 || (name != "" && name != fams[len(fams)-1].name) {
				fams = append(fams, &fam{name: name})
			}
			fams[len(fams)-1].lines = append(fams[len(fams)-1].lines, l)
		}
		slices.SortStableFunc(fams, func(a, b *fam) int { return strings.Compare(a.name, b.name) })
		var out []string
		for _, f := range fams {
			out = append(out, f.lines...)
		}
		return strings.Join(out, "\n")
	}
	if g, w := norm(got.String()), norm(string(want)); g != w {
		return fmt.Errorf("metrics differ:\ngot:\n%s\nwant:\n%s", g, w)
	}
	return nil
}

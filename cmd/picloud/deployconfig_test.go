package main

import (
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picloud/picloud"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// updateJSON is how a settings update travels, for comparing in one line.
func updateJSON(u picloud.ScriptUpdate) string {
	b, _ := json.Marshal(u)
	return string(b)
}

func TestTOMLConfig(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "hello.toml", "\ufeff# settings of hello\r\n"+
		`name = "hello-api"   # the slug`+"\n"+
		"\n"+
		"timeout_ms = 2_500\n"+
		"max_operations = 0x10\n"+
		"max_concurrency = +3 # per script\n"+
		"max_memory_bytes = 67108864\n"+
		"max_response_bytes = 0\n"+
		"unsandboxed = true\n")
	u, err := readDeployConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"hello-api","source":null,"timeout_ms":2500,"max_operations":16,"max_concurrency":3,` +
		`"max_memory_bytes":67108864,"max_response_bytes":0,"unsandboxed":true}`
	if got := updateJSON(u); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// Keys left out stay nil: deploy then leaves them alone on an update.
	u, err = readDeployConfig(writeFile(t, dir, "part.toml", "name = 'a-literal'\n"))
	if err != nil || *u.Name != "a-literal" || u.TimeoutMS != nil || u.Unsandboxed != nil {
		t.Fatalf("partial: %s %v", updateJSON(u), err)
	}
	for _, c := range []struct {
		text string
		want any
	}{
		{`"a\"b\u00e9\t\\" # c`, "a\"b\u00e9\t\\"},
		{`'C:\dir\'`, `C:\dir\`},
		{`""`, ""},
		{`"#not a comment"`, "#not a comment"},
		{`false#c`, false},
		{`-0`, int64(0)},
		{`0b101`, int64(5)},
		{`0o17`, int64(15)},
		{`1_000_000`, int64(1000000)},
		{`-9223372036854775808`, int64(-9223372036854775808)},
		{`1e3`, float64(1000)},
		{`2.5`, 2.5},
		{`-0.5e-1 # c`, -0.05},
		{`1_000.000_1`, 1000.0001},
		{`0.0`, float64(0)},
	} {
		if v, err := parseTOMLValue(c.text); err != nil || v != c.want {
			t.Errorf("%s: %#v %v", c.text, v, err)
		}
	}
	for _, text := range []string{`0x`, `0x_1`, `+0x1`, `1_`, `_1`, `tru`, `.5`, `5.`, `01.5`, `1.e3`, `1__0.5`, `inf`, `nan`, `+inf`, `1.5.2`, `"\u00"`, `"\ud800"`, `'open`} {
		if v, err := parseTOMLValue(text); err == nil {
			t.Errorf("%s: accepted as %#v", text, v)
		}
	}
}

func TestTOMLConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ content, want string }{
		{"timeout_ms = 5\n[limits]\n", ":2: tables are not supported"},
		{"# c\n\ntimeout = 5\n", `:3: unknown setting "timeout"`},
		{"timeout_ms 5\n", ":1: want `key = value`"},
		{"timeout_ms = 5\ntimeout_ms = 6\n", ":2: timeout_ms is already set on line 1"},
		{"timeout_ms = \"5\"\n", ":1: timeout_ms: want an integer, got a string"},
		{"unsandboxed = 1\n", ":1: unsandboxed: want a boolean, got an integer"},
		{"name = true\n", ":1: name: want a string, got a boolean"},
		{"timeout_ms = 1.5\n", `:1: timeout_ms: want an integer, got a number`},
		{"rate_limit_rps = \"5\"\n", `:1: rate_limit_rps: want a number, got a string`},
		{"rate_limit_rps = 1_000_000.5\n", `:1: rate_limit_rps must be between 0 (no limit) and 1000000`},
		{"rate_limit_rps = -1\n", `:1: rate_limit_rps must be between`},
		{"rate_limit_burst = 2.5\n", `:1: rate_limit_burst: want an integer, got a number`},
		{"access = \"private\"\n", `:1: access "private" is not public, key, token or library`},
		{"rate_limit_by = \"ip\"\n", `:1: rate_limit_by "ip" is not client or key`},
		{"timeout_ms = 007\n", `:1: timeout_ms: "007" is not an integer`},
		{"timeout_ms = 1__0\n", `"1__0" is not an integer`},
		{"timeout_ms =\n", ":1: timeout_ms: no value"},
		{"max_operations = 99999999999999999999\n", "out of the 64-bit range"},
		{"name = \"abc\n", ":1: name: unterminated string"},
		{"name = \"a\" b\n", `unexpected "b" after the value`},
		{"name = \"a\\q\"\n", `unknown escape \q`},
		{"name = \"\"\"x\"\"\"\n", "multi-line strings are not supported"},
		{"max_concurrency = [1]\n", "max_concurrency: an array holds quoted strings only"},
		{"max_concurrency = [\"1\"]\n", "max_concurrency: want an integer, got a list of strings"},
		{"subscriptions = \"a.b\"\n", "subscriptions: want a list of strings, got a string"},
		{"subscriptions = [\"a\"\n", "unterminated array (arrays are on one line)"},
		{"subscriptions = [\"a\" \"b\"]\n", "want , or ] after an array's string"},
		{"subscriptions = [\"Bad Topic\"]\n", `:1: topic "Bad Topic" is not valid`},
		{"subscriptions = [\"a\"] x\n", `unexpected "x" after the value`},
		{"limits = { a = 1 }\n", `unknown setting "limits"`},
		{"name = { a = 1 }\n", "inline tables are not supported"},
		{"enabled = \"no\"\n", "enabled: want a boolean, got a string"},
		{"max_attempts = 101\n", ":1: max_attempts must be between 0 (the server default) and 100"},
		{"\n\nmax_concurrency = 2147483648\n", ":3: max_concurrency must be between 0 (the server default) and 100000"},
		{"timeout_ms = -1\n", ":1: timeout_ms must be between 0 (the server default) and 3600000"},
		{"max_response_bytes = 1073741825\n", ":1: max_response_bytes must be between"},
		{"name = \"Not A Slug\"\n", ":1: name \"Not A Slug\" is not a slug"},
	} {
		p := writeFile(t, dir, "s.toml", c.content)
		_, err := readDeployConfig(p)
		if err == nil || !strings.HasPrefix(err.Error(), p) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.content, err, c.want)
		}
	}
}

func TestJSONConfig(t *testing.T) {
	dir := t.TempDir()
	u, err := readDeployConfig(writeFile(t, dir, "hello.json", `{"timeout_ms": 100, "unsandboxed": false, "max_memory_bytes": 1048576}`))
	if err != nil || updateJSON(u) != `{"name":null,"source":null,"timeout_ms":100,"max_operations":null,"max_concurrency":null,"max_memory_bytes":1048576,"max_response_bytes":null,"unsandboxed":false}` {
		t.Fatalf("json: %s %v", updateJSON(u), err)
	}
	for _, c := range []struct{ content, want string }{
		{"{\n  \"timeout_ms\": 5,\n  \"x\": \n}", "s.json:4: invalid character '}'"},
		{`{"timeout": 5}`, `unknown setting "timeout"`},
		{`{"source": "1"}`, `unknown setting "source"`},
		{`{"timeout_ms": "5"}`, `timeout_ms: want an integer, got "5"`},
		{`{"timeout_ms": null}`, `timeout_ms: want an integer, got null`},
		{`{"max_concurrency": 2147483648}`, "max_concurrency must be between"},
		{"{}\n{}", "s.json:2: data after the object"},
		{`[1]`, "cannot unmarshal array"},
		{`{"subscriptions": "a.b"}`, `subscriptions: want a list of strings, got "a.b"`},
		{`{"subscriptions": ["a", 1]}`, `subscriptions: want a list of strings`},
		{`{"subscriptions": ["UPPER"]}`, `topic "UPPER" is not valid`},
		{`{"max_attempts": -1}`, "max_attempts must be between"},
	} {
		p := writeFile(t, dir, "s.json", c.content)
		if _, err := readDeployConfig(p); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.content, err, c.want)
		}
	}
	if _, err := readDeployConfig(writeFile(t, dir, "s.yaml", "a: 1")); err == nil || !strings.Contains(err.Error(), ".toml or .json") {
		t.Errorf("yaml: %v", err)
	}
}

// TestTriggerSettingsConfig: the Step 9 settings (enabled, max_attempts,
// subscriptions) read from TOML and JSON alike.
func TestTriggerSettingsConfig(t *testing.T) {
	dir := t.TempDir()
	want := `{"name":null,"source":null,"timeout_ms":null,"max_operations":null,"max_concurrency":null,` +
		`"max_memory_bytes":null,"max_response_bytes":null,"unsandboxed":null,` +
		`"enabled":false,"max_attempts":5,"subscriptions":["order.created","order.paid"]}`
	u, err := readDeployConfig(writeFile(t, dir, "a.toml", "enabled = false\nmax_attempts = 5\n"+
		`subscriptions = [ "order.created", 'order.paid', ]  # two topics`+"\n"))
	if err != nil || updateJSON(u) != want {
		t.Fatalf("toml: %s %v", updateJSON(u), err)
	}
	u, err = readDeployConfig(writeFile(t, dir, "a.json", `{"enabled": false, "max_attempts": 5, "subscriptions": ["order.created", "order.paid"]}`))
	if err != nil || updateJSON(u) != want {
		t.Fatalf("json: %s %v", updateJSON(u), err)
	}
	// An empty list clears the subscriptions: it must reach the server as [].
	for _, f := range []string{writeFile(t, dir, "b.toml", "subscriptions = []\n"), writeFile(t, dir, "b.json", `{"subscriptions": []}`)} {
		u, err = readDeployConfig(f)
		if err != nil || u.Subscriptions == nil || len(*u.Subscriptions) != 0 || !strings.Contains(updateJSON(u), `"subscriptions":[]`) {
			t.Fatalf("%s: %s %v", f, updateJSON(u), err)
		}
	}
}

// TestTriggerSettingFlags: --enabled/--disabled, --max-attempts and
// --subscriptions override a settings file, and contradictions are refused.
func TestTriggerSettingFlags(t *testing.T) {
	t.Setenv("PICLOUD_SUBSCRIPTIONS", "from.env") // not a deploy setting's source
	for _, c := range []struct {
		args []string
		want string // the update's JSON, or the error
	}{
		{[]string{"--disabled"}, `"enabled":false`},
		{[]string{"--disabled=false"}, `"enabled":true`},
		{[]string{"--enabled=false"}, `"enabled":false`},
		{[]string{"--enabled"}, `"enabled":true`},
		{[]string{"--enabled", "--disabled=false"}, `"enabled":true`},
		{[]string{"--enabled", "--disabled"}, "--enabled and --disabled contradict each other"},
		{[]string{"--max-attempts", "7"}, `"max_attempts":7`},
		{[]string{"--max-attempts", "101"}, "--max-attempts: max_attempts must be between"},
		{[]string{"--subscriptions", " a.b, c-d ,,a.b"}, `"subscriptions":["a.b","c-d","a.b"]`},
		{[]string{"--subscriptions", ""}, `"subscriptions":[]`},
		{[]string{"--subscriptions", "x y"}, `--subscriptions: topic "x y" is not valid`},
		{[]string{"--timeout-ms", "5"}, `"timeout_ms":5,`},
	} {
		fs := flag.NewFlagSet("deploy", flag.ContinueOnError)
		var f settingFlags
		f.register(fs)
		if _, err := parse(fs, append([]string{"x.rhai"}, c.args...)); err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		var u picloud.ScriptUpdate
		err := f.apply(&u)
		got := updateJSON(u)
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, c.want) || strings.Contains(got, "from.env") {
			t.Errorf("%v: got %s, want %s", c.args, got, c.want)
		}
	}
}

func TestFindDeployConfig(t *testing.T) {
	dir := t.TempDir()
	script := writeFile(t, dir, "hello.rhai", "1")
	if p, err := findDeployConfig(script); p != "" || err != nil {
		t.Fatalf("none: %q %v", p, err)
	}
	toml := writeFile(t, dir, "hello.toml", "")
	if p, err := findDeployConfig(script); p != toml || err != nil {
		t.Fatalf("toml: %q %v", p, err)
	}
	writeFile(t, dir, "hello.json", "{}")
	if _, err := findDeployConfig(script); err == nil || !strings.Contains(err.Error(), "--config") {
		t.Fatalf("both: %v", err)
	}
}

func TestSettingFlagsIgnoreEnvironment(t *testing.T) {
	// PICLOUD_MAX_CONCURRENCY configures the server; deploy must not read it.
	t.Setenv("PICLOUD_MAX_CONCURRENCY", "16")
	t.Setenv("PICLOUD_UNSANDBOXED", "true")
	t.Setenv("PICLOUD_EGRESS_ALLOW", "10.0.0.0/8") // the server's: it must not open every deployed script
	t.Setenv("PICLOUD_ENABLED", "false")
	fs := flag.NewFlagSet("deploy", flag.ContinueOnError)
	var f settingFlags
	f.register(fs)
	if _, err := parse(fs, []string{"x.rhai", "--timeout-ms", "1_000"}); err != nil {
		t.Fatal(err)
	}
	var u picloud.ScriptUpdate
	if err := f.apply(&u); err != nil || u.MaxConcurrency != nil || u.Unsandboxed != nil || u.EgressAllow != nil ||
		u.Enabled != nil || *u.TimeoutMS != 1000 {
		t.Fatalf("%s %v", updateJSON(u), err)
	}
	fs = flag.NewFlagSet("deploy", flag.ContinueOnError)
	f = settingFlags{}
	f.register(fs)
	if _, err := parse(fs, []string{"--max-concurrency", "-1", "x.rhai"}); err != nil {
		t.Fatal(err)
	}
	if err := f.apply(&u); err == nil || !strings.Contains(err.Error(), "--max-concurrency: max_concurrency must be between") {
		t.Fatalf("out of range flag: %v", err)
	}
}

// FuzzTOMLValue: no value text panics the settings parser, and an array it
// accepts is a list of strings.
func FuzzTOMLValue(f *testing.F) {
	for _, s := range []string{`"a"`, `'b'`, `[]`, `["a", 'b',]`, `[ "a" # c`, `["\u00e9"]`, `0x1F`, `true`, `[`, `["`, `['`, `["a" ,`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseTOMLValue(s)
		if err == nil && v == nil {
			t.Fatalf("%q: no value and no error", s)
		}
		if l, ok := v.([]string); ok && l == nil {
			t.Fatalf("%q: a nil list", s)
		}
	})
}

// TestAccessSettingsConfig: the Step 12 settings (access and the rate
// limit) read from TOML and JSON alike, a whole number of requests per
// second as well as a fraction, and from deploy's flags over a file.
func TestAccessSettingsConfig(t *testing.T) {
	dir := t.TempDir()
	want := `"access":"key","rate_limit_rps":2.5,"rate_limit_burst":10,"rate_limit_by":"key"}`
	u, err := readDeployConfig(writeFile(t, dir, "a.toml", "access = \"key\"\nrate_limit_rps = 2.5 # per client\nrate_limit_burst = 10\nrate_limit_by = 'key'\n"))
	if err != nil || !strings.HasSuffix(updateJSON(u), want) {
		t.Fatalf("toml: %s %v", updateJSON(u), err)
	}
	u, err = readDeployConfig(writeFile(t, dir, "a.json", `{"access": "key", "rate_limit_rps": 2.5, "rate_limit_burst": 10, "rate_limit_by": "key"}`))
	if err != nil || !strings.HasSuffix(updateJSON(u), want) {
		t.Fatalf("json: %s %v", updateJSON(u), err)
	}
	for _, f := range []string{writeFile(t, dir, "b.toml", "rate_limit_rps = 5\n"), writeFile(t, dir, "b.json", `{"rate_limit_rps": 5}`)} {
		if u, err := readDeployConfig(f); err != nil || u.RateLimitRPS == nil || *u.RateLimitRPS != 5 {
			t.Fatalf("%s: a whole rate: %s %v", f, updateJSON(u), err)
		}
	}
	if _, err := readDeployConfig(writeFile(t, dir, "c.json", `{"rate_limit_rps": "5"}`)); err == nil || !strings.Contains(err.Error(), `rate_limit_rps: want a number, got "5"`) {
		t.Fatalf("json string rate: %v", err)
	}

	t.Setenv("PICLOUD_ACCESS", "public") // not a deploy setting's source
	for _, c := range []struct {
		args []string
		want string // the update's JSON, or the error
	}{
		{[]string{"--access", "library"}, `"access":"library"}`},
		{[]string{"--access", "token", "--rate-limit", "0.5", "--rate-burst", "3", "--rate-limit-by", "client"}, `"access":"token","rate_limit_rps":0.5,"rate_limit_burst":3,"rate_limit_by":"client"}`},
		{[]string{"--rate-limit", "1_000"}, `"rate_limit_rps":1000}`},
		{[]string{"--rate-limit", "0"}, `"rate_limit_rps":0}`},
		{[]string{"--access", "nobody"}, `--access: access "nobody" is not public, key, token or library`},
		{[]string{"--rate-limit", "2000000"}, "--rate-limit: rate_limit_rps must be between 0 (no limit) and 1000000"},
		{[]string{"--rate-burst", "-1"}, "--rate-burst: rate_limit_burst must be between"},
		{[]string{"--rate-limit-by", "ip"}, `--rate-limit-by: rate_limit_by "ip" is not client or key`},
	} {
		fs := flag.NewFlagSet("deploy", flag.ContinueOnError)
		var f settingFlags
		f.register(fs)
		if _, err := parse(fs, append([]string{"x.rhai"}, c.args...)); err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		var u picloud.ScriptUpdate
		err := f.apply(&u)
		got := updateJSON(u)
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, c.want) || strings.Contains(got, `"public"`) {
			t.Errorf("%v: got %s, want %s", c.args, got, c.want)
		}
	}
	fs := flag.NewFlagSet("deploy", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var f settingFlags
	f.register(fs)
	if _, err := parse(fs, []string{"x.rhai", "--rate-limit", "fast"}); err == nil || !strings.Contains(err.Error(), "want a number") {
		t.Fatalf("--rate-limit fast: %v", err)
	}
}

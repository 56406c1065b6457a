package manager

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/internal/executor"
	"github.com/picloud/picloud/internal/httpapi"
)

// maxBodyChanges bounds the changes one item's body diff lists.
const maxBodyChanges = 100

// DefaultReplayDeadline bounds a replay request as a whole: up to 100
// captured requests, each run twice within the script's own timeout, could
// otherwise hold the request for many minutes.
const DefaultReplayDeadline = 60 * time.Second

// replayDeadlineReason is the reason of a captured request the replay's
// deadline left unrun (or cut while it ran).
func replayDeadlineReason(d time.Duration) string {
	return "deadline: the replay's " + d.String() + " ran out before this request was run"
}

// HandleReplay is POST /api/scripts/{id}/replay {source | draft: true, last,
// filter}: the latest captured http requests of the script (newest first,
// at most last, filtered as the logs are) are each run, now, through the
// live version and through the given source (or the stored draft), under
// identical conditions (executor.Replay): kv:: reads see the live data and
// writes go to an overlay per run that is dropped afterwards, http:: calls
// are answered by one stub that never dials (executor.RefuseOutbound), the
// events emitted are not published, and time::now() is the captured
// request's start for both. Nothing is written: no execution rows, no kv.
// The runs are sequential and bypass the serving gate: a replay is an
// operator's tool, bounded by last (≤ 100), the script's own limits and, as
// a whole, by Config.ReplayDeadline (60 s): the captured requests not run by
// then, and the one whose runs it cut, are listed as not replayable with a
// reason starting "deadline:", and the answer has the items run so far.
func (m *Manager) HandleReplay(w http.ResponseWriter, r *http.Request) {
	var in picloud.ReplayRequest
	if err := m.decode(w, r, m.maxBody, &in); err != nil {
		m.fail(w, r, err)
		return
	}
	ctx := r.Context()
	sc, err := m.ResolveScript(ctx, r.PathValue("id"))
	if err != nil {
		m.fail(w, r, err)
		return
	}
	var source string
	if in.Draft {
		d, err := m.store.Draft(ctx, sc.ID)
		if err != nil {
			m.fail(w, r, err)
			return
		}
		source = d.Source
	} else {
		source = *in.Source
	}
	live := m.exec.Compile(sc.Name, sc.Source)
	if err := live.Err(); err != nil {
		m.fail(w, r, err)
		return
	}
	draft := m.exec.Compile(sc.Name, source)
	if err := draft.Err(); err != nil {
		m.fail(w, r, err)
		return
	}
	q, err := replayQuery(in, time.Now())
	if err != nil {
		m.fail(w, r, err)
		return
	}
	q.ScriptID = sc.ID
	m.awaitRows(ctx) // the rows of the requests just served, when any
	rows, err := m.store.QueryExecutions(ctx, q)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	lim := m.exec.Limits(executor.Limits{
		Timeout:          time.Duration(sc.TimeoutMS) * time.Millisecond,
		MaxOperations:    uint64(sc.MaxOperations),
		MaxMemoryBytes:   sc.MaxMemoryBytes,
		MaxResponseBytes: sc.MaxResponseBytes,
	})
	opts := executor.Options{Resolver: m.replayResolver(), Script: sc}
	// A source a restricted token sends is code it wrote: it runs confined
	// to the token's pattern, as it would once deployed (Script.ConfinedTo),
	// not with the reach of the unconfined script it is compared with (the
	// global secrets, in a body the replay returns unredacted).
	draftOpts := opts
	if p, ok := PrincipalFrom(ctx); ok && p.Scripts != "" && !in.Draft && sc.ConfinedTo != p.Scripts {
		confined := *sc
		confined.ConfinedTo = p.Scripts
		draftOpts.Script = &confined
	}
	out := picloud.ReplayResponse{Items: []picloud.ReplayItem{}, NotReplayable: []picloud.NotReplayable{}}
	rctx, cancel := context.WithTimeout(ctx, m.replayDeadline)
	defer cancel()
	late := func() bool { return rctx.Err() != nil && ctx.Err() == nil }
	for _, l := range rows {
		if late() {
			out.NotReplayable = append(out.NotReplayable, picloud.NotReplayable{ExecutionID: l.ID, Reason: replayDeadlineReason(m.replayDeadline)})
			continue
		}
		req, reason := replayRequest(sc, l.Request)
		if reason != "" {
			out.NotReplayable = append(out.NotReplayable, picloud.NotReplayable{ExecutionID: l.ID, Reason: reason})
			continue
		}
		run := func(p *executor.Program, o executor.Options) picloud.ReplayRun {
			// Each run has its own overlay on the live store, so both
			// start from the same data and neither sees the other's writes.
			o.Replay = &executor.Replay{Now: l.StartedAt.Time, KV: executor.NewKVOverlay(m.store), HTTP: executor.RefuseOutbound}
			return replayRun(m.exec.Execute(rctx, p, lim, req, o))
		}
		it := picloud.ReplayItem{ExecutionID: l.ID, Request: l.Request, Live: run(live, opts), Draft: run(draft, draftOpts)}
		if late() && (it.Live.Outcome != picloud.StatusSuccess || it.Draft.Outcome != picloud.StatusSuccess) {
			// The deadline may have cut a run: its outcome would not be
			// the script's.
			out.NotReplayable = append(out.NotReplayable, picloud.NotReplayable{ExecutionID: l.ID, Reason: replayDeadlineReason(m.replayDeadline)})
			continue
		}
		it.Diff = replayDiff(&it.Live, &it.Draft)
		it.Same = it.Diff.Status == nil && it.Diff.Headers == nil && it.Diff.Body == nil && it.Diff.Error == nil
		out.Items = append(out.Items, it)
	}
	if err := ctx.Err(); err != nil {
		m.fail(w, r, err)
		return
	}
	m.log.Info("replay", "script", sc.Name, "id", sc.ID, "items", len(out.Items), "not_replayable", len(out.NotReplayable))
	httpapi.WriteJSON(w, http.StatusOK, out)
}

// replayQuery is the log query of a replay: its filter with the meaning of
// the log parameters (ParseLogQuery), http requests only, the latest last.
func replayQuery(in picloud.ReplayRequest, now time.Time) (picloud.ExecutionQuery, error) {
	v := url.Values{}
	if f := in.Filter; f != nil {
		for k, s := range map[string]string{"status": f.Status, "since": f.Since, "until": f.Until, "q": f.Q} {
			if s != "" {
				v.Set(k, s)
			}
		}
	}
	q, err := ParseLogQuery(&http.Request{URL: &url.URL{RawQuery: v.Encode()}}, now)
	if err != nil {
		return q, err
	}
	q.Triggers = []picloud.Trigger{picloud.TriggerHTTP}
	q.Limit = picloud.DefaultReplayLast
	if in.Last > 0 {
		q.Limit = in.Last
	}
	q.Offset = 0
	return q, nil
}

// replayResolver loads the modules a replayed program imports: their
// current versions, compiled once per replay.
func (m *Manager) replayResolver() func(ctx context.Context, name string) (*executor.Program, *picloud.Script, error) {
	type lib struct {
		p  *executor.Program
		sc *picloud.Script
	}
	var mu sync.Mutex
	libs := map[string]lib{}
	return func(ctx context.Context, name string) (*executor.Program, *picloud.Script, error) {
		mu.Lock()
		defer mu.Unlock()
		if l, ok := libs[name]; ok {
			return l.p, l.sc, nil
		}
		sc, err := m.store.ScriptByName(ctx, name)
		if err != nil {
			return nil, nil, err
		}
		p := m.exec.Compile(sc.Name, sc.Source)
		libs[name] = lib{p, sc}
		return p, sc, nil
	}
}

// replayRequest rebuilds the request of a capture, or says why it cannot:
// a capture cut at a limit would not be the request that was served.
// Headers the capture redacted are replayed as redacted ([REDACTED]).
func replayRequest(sc *picloud.Script, rec *picloud.RequestRecord) (*executor.Request, string) {
	switch {
	case rec == nil:
		return nil, "the request was not captured"
	case rec.BodyTruncated:
		return nil, "the captured body was truncated"
	case rec.HeadersTruncated:
		return nil, "the captured headers were truncated"
	case rec.QueryTruncated:
		return nil, "the captured query was truncated"
	}
	body := []byte(rec.Body)
	if rec.BodyEncoding == "base64" {
		b, err := base64.StdEncoding.DecodeString(rec.Body)
		if err != nil {
			return nil, "the captured body is not valid base64"
		}
		body = b
	}
	req := &executor.Request{Method: rec.Method, Path: rec.Path, Header: http.Header{}, Body: body, Trigger: picloud.TriggerHTTP}
	if rest, ok := strings.CutPrefix(rec.Path, "/fn/"+sc.Name); ok && (rest == "" || rest[0] == '/') {
		req.Subpath = rest
	}
	if len(rec.Query) > 0 {
		req.Query = url.Values{}
		for k, s := range rec.Query {
			req.Query.Set(k, s)
		}
	}
	for k, s := range rec.Headers {
		req.Header.Set(k, s)
	}
	return req, ""
}

// replayRun is a run's outcome as a replay reports it.
func replayRun(res *executor.Result) picloud.ReplayRun {
	out := picloud.ReplayRun{Outcome: res.Status, Operations: res.Operations,
		DurationMS: float64(res.Duration.Microseconds()) / 1000, Error: res.Err, Headers: map[string]string{}}
	if res.Response == nil {
		out.Status = httpapi.Status(res.Code)
		return out
	}
	out.Status = res.Response.Status
	for k, v := range res.Response.Header {
		out.Headers[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	if utf8.Valid(res.Response.Body) {
		out.Body = string(res.Response.Body)
	} else {
		out.Body, out.BodyEncoding = base64.StdEncoding.EncodeToString(res.Response.Body), "base64"
	}
	return out
}

func rawJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`null`)
	}
	return b
}

// replayDiff is what differs between the live run a and the draft's b.
func replayDiff(a, b *picloud.ReplayRun) picloud.ReplayDiff {
	var d picloud.ReplayDiff
	if a.Status != b.Status {
		d.Status = &picloud.ReplayChange{Live: rawJSON(a.Status), Draft: rawJSON(b.Status)}
	}
	for _, k := range slices.Sorted(maps.Keys(mergeKeys(a.Headers, b.Headers))) {
		av, aok := a.Headers[k]
		bv, bok := b.Headers[k]
		if aok == bok && av == bv {
			continue
		}
		c := picloud.ReplayChange{Live: json.RawMessage(`null`), Draft: json.RawMessage(`null`)}
		if aok {
			c.Live = rawJSON(av)
		}
		if bok {
			c.Draft = rawJSON(bv)
		}
		if d.Headers == nil {
			d.Headers = map[string]picloud.ReplayChange{}
		}
		d.Headers[k] = c
	}
	d.Body = bodyDiff(a, b)
	if !bytes.Equal(rawJSON(a.Error), rawJSON(b.Error)) {
		d.Error = &picloud.ReplayChange{Live: rawJSON(a.Error), Draft: rawJSON(b.Error)}
	}
	return d
}

func mergeKeys(a, b map[string]string) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// bodyDiff lists the body's changes: a JSON diff by JSON Pointer path when
// both bodies are JSON, else the two whole bodies (path "").
func bodyDiff(a, b *picloud.ReplayRun) []picloud.ReplayChange {
	if a.Body == b.Body && a.BodyEncoding == b.BodyEncoding {
		return nil
	}
	if a.BodyEncoding == "" && b.BodyEncoding == "" {
		av, aok := decodeJSON(a.Body)
		bv, bok := decodeJSON(b.Body)
		if aok && bok {
			var out []picloud.ReplayChange
			jsonDiff("", av, bv, &out)
			return out // nil when equal as JSON (spacing, key order)
		}
	}
	root := ""
	return []picloud.ReplayChange{{Path: &root, Live: rawJSON(a.Body), Draft: rawJSON(b.Body)}}
}

func decodeJSON(s string) (any, bool) {
	if strings.TrimSpace(s) == "" {
		return nil, false
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil || dec.More() {
		return nil, false
	}
	return v, true
}

// jsonDiff appends the differences of a and b under path: objects key by
// key, arrays index by index, anything else as a whole. A side without the
// key or index is null (absent), at most maxBodyChanges changes.
func jsonDiff(path string, a, b any, out *[]picloud.ReplayChange) {
	if len(*out) >= maxBodyChanges {
		return
	}
	switch av := a.(type) {
	case map[string]any:
		if bv, ok := b.(map[string]any); ok {
			for _, k := range slices.Sorted(maps.Keys(mergeAny(av, bv))) {
				x, xok := av[k]
				y, yok := bv[k]
				p := path + "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(k)
				if !xok || !yok {
					add(p, x, xok, y, yok, out)
					continue
				}
				jsonDiff(p, x, y, out)
			}
			return
		}
	case []any:
		if bv, ok := b.([]any); ok {
			for i := range max(len(av), len(bv)) {
				p := path + "/" + strconv.Itoa(i)
				if i >= len(av) || i >= len(bv) {
					var x, y any
					if i < len(av) {
						x = av[i]
					}
					if i < len(bv) {
						y = bv[i]
					}
					add(p, x, i < len(av), y, i < len(bv), out)
					continue
				}
				jsonDiff(p, av[i], bv[i], out)
			}
			return
		}
	}
	if !bytes.Equal(rawJSON(a), rawJSON(b)) {
		add(path, a, true, b, true, out)
	}
}

func add(path string, a any, aok bool, b any, bok bool, out *[]picloud.ReplayChange) {
	if len(*out) >= maxBodyChanges {
		return
	}
	c := picloud.ReplayChange{Path: &path, Live: json.RawMessage(`null`), Draft: json.RawMessage(`null`)}
	if aok {
		c.Live = rawJSON(a)
	}
	if bok {
		c.Draft = rawJSON(b)
	}
	*out = append(*out, c)
}

func mergeAny(a, b map[string]any) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

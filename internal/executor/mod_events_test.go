package executor

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/picloud/picloud"
	"github.com/picloud/picloud/rhai"
)

// runOn executes src on req as the stored script sc (nil: none).
func runOn(t *testing.T, x *Executor, src string, req *Request, sc *picloud.Script) *Result {
	t.Helper()
	p := x.Compile("test", src)
	if err := p.Err(); err != nil {
		t.Fatalf("compile %q: %v", src, err)
	}
	if req.Header == nil {
		req.Header = http.Header{}
	}
	return x.Execute(context.Background(), p, Limits{}, req, Options{Script: sc})
}

func TestRequestTriggerFields(t *testing.T) {
	x := newTestExecutor(t, Config{})
	// A map's missing property reads as (): null in the JSON.
	const src = `#{trigger: request.trigger, job_id: request.job_id, attempt: request.attempt,
		schedule: request.schedule, event: request.event, keys: request.keys().len()}`
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		req  Request
		want string
	}{
		{"http", Request{Method: "GET", Path: "/fn/a"},
			`{"trigger":"http","job_id":null,"attempt":null,"schedule":null,"event":null,"keys":8}`},
		{"test", Request{Method: "GET", Path: "/fn/a", Trigger: picloud.TriggerTest},
			`{"trigger":"test","job_id":null,"attempt":null,"schedule":null,"event":null,"keys":8}`},
		{"async", Request{Method: "PUT", Path: "/fn/a", Trigger: picloud.TriggerAsync, JobID: "42", Attempt: 2},
			`{"trigger":"async","job_id":"42","attempt":2,"schedule":null,"event":null,"keys":10}`},
		{"cron", Request{Method: "POST", Path: "/fn/a", Trigger: picloud.TriggerCron, JobID: "7", Attempt: 1,
			Schedule: &picloud.ScheduleFiring{ID: "s1", Cron: "*/5 * * * *", ScheduledAt: picloud.Time{Time: at}}},
			`{"trigger":"cron","job_id":"7","attempt":1,"schedule":{"id":"s1","cron":"*/5 * * * *","scheduled_at":"2026-12-06T10:00:00.000Z"},"event":null,"keys":11}`},
		{"event", Request{Method: "POST", Path: "/fn/a", Trigger: picloud.TriggerEvent, JobID: "9", Attempt: 3,
			Event: &picloud.Event{ID: "e1", Topic: "order.created", Payload: json.RawMessage(`{"id":5,"items":["x"],"ok":true}`), EmittedBy: "shop", Depth: 2}},
			`{"trigger":"event","job_id":"9","attempt":3,"schedule":null,"event":{"topic":"order.created","payload":{"id":5,"items":["x"],"ok":true},"id":"e1","emitted_by":"shop"},"keys":11}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runOn(t, x, src, &tc.req, nil)
			wantStatus(t, res, picloud.StatusSuccess, "", "")
			wantJSON(t, res.Response.Body, tc.want)
		})
	}
}

// TestEventPayloadIsAValue: the payload is Rhai data, not JSON text.
func TestEventPayloadIsAValue(t *testing.T) {
	x := newTestExecutor(t, Config{})
	req := &Request{Method: "POST", Trigger: picloud.TriggerEvent, JobID: "1", Attempt: 1,
		Event: &picloud.Event{Topic: "n", Payload: json.RawMessage(`{"n":41}`), Depth: 1}}
	res := runOn(t, x, `request.event.payload.n + 1`, req, nil)
	wantStatus(t, res, picloud.StatusSuccess, "", "")
	if string(res.Response.Body) != "42" {
		t.Fatalf("body %s", res.Response.Body)
	}
}

func wantJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("body\n got %s\nwant %s", got, want)
	}
}

func TestEmit(t *testing.T) {
	calls := map[string]int{}
	x := newTestExecutor(t, Config{OnHostCall: func(m string) func() { return func() { calls[m]++ } }})
	sc := &picloud.Script{ID: "id1", Name: "shop"}
	res := runOn(t, x, `
		let p = #{id: 5, items: ["a"]};
		events::emit("order.created", p);
		p.id = 6; // the event has a copy
		events::emit("order.paid", "text");
		events::emit("x_y-z.0", ());
		"ok"`, &Request{Method: "POST"}, sc)
	wantStatus(t, res, picloud.StatusSuccess, "", "")
	if len(res.Events) != 3 {
		t.Fatalf("events %+v", res.Events)
	}
	want := []struct{ topic, payload string }{{"order.created", `{"id":5,"items":["a"]}`}, {"order.paid", `"text"`}, {"x_y-z.0", `null`}}
	seen := map[string]bool{}
	for i, e := range res.Events {
		if e.Topic != want[i].topic || string(e.Payload) != want[i].payload || e.EmittedBy != "shop" || e.Depth != 1 {
			t.Errorf("event %d = %+v (payload %s)", i, e, e.Payload)
		}
		if _, err := uuid.Parse(e.ID); err != nil || seen[e.ID] {
			t.Errorf("event %d id %q: not a fresh uuid (%v)", i, e.ID, err)
		}
		seen[e.ID] = true
	}
	if calls["events"] != 3 {
		t.Fatalf("host calls %v, want 3 of events", calls)
	}

	// Outside the store: no emitter name. Triggered by an event of depth 3:
	// the new events are of depth 4.
	res = runOn(t, x, `events::emit("a", 1)`, &Request{Method: "POST", Trigger: picloud.TriggerEvent,
		Event: &picloud.Event{Topic: "b", Depth: 3}}, nil)
	wantStatus(t, res, picloud.StatusSuccess, "", "")
	if len(res.Events) != 1 || res.Events[0].EmittedBy != "" || res.Events[0].Depth != 4 {
		t.Fatalf("events %+v", res.Events)
	}

	// No emit: no events.
	if res := runOn(t, x, `1`, &Request{Method: "GET"}, sc); res.Events != nil {
		t.Fatalf("events %+v", res.Events)
	}
}

// TestEmitFailedExecution: a failed execution's events are not delivered.
func TestEmitFailedExecution(t *testing.T) {
	x := newTestExecutor(t, Config{})
	for _, src := range []string{
		`events::emit("a", 1); throw "no"`,
		`events::emit("a", 1); let x = 0; loop { x += 1; }`, // budget
		`events::emit("a", 1); #{status: 1000, body: ""}`,   // an invalid response
	} {
		res := x.Execute(context.Background(), x.Compile("t", src), Limits{MaxOperations: 10_000}, &Request{Method: "GET", Header: http.Header{}}, Options{})
		if res.Status == picloud.StatusSuccess || res.Events != nil {
			t.Fatalf("%s: status %s events %+v", src, res.Status, res.Events)
		}
	}
}

func TestEmitLimits(t *testing.T) {
	x := newTestExecutor(t, Config{MaxEmits: 3})
	if c := x.Config(); c.MaxEmits != 3 || c.MaxEventDepth != DefaultMaxEventDepth {
		t.Fatalf("config %+v", c)
	}
	if c := New(Config{}, nil).Config(); c.MaxEmits != DefaultMaxEmits || c.MaxEventDepth != DefaultMaxEventDepth {
		t.Fatalf("defaults %d %d", c.MaxEmits, c.MaxEventDepth)
	}
	depth := func(d int) *Request {
		return &Request{Method: "POST", Trigger: picloud.TriggerEvent, Event: &picloud.Event{Topic: "t", Depth: d}}
	}
	big := strings.Repeat("x", MaxEventPayloadBytes)
	for _, tc := range []struct {
		name, src string
		req       *Request
		msg       string
	}{
		{"budget", `for i in 0..4 { events::emit("t", i) }`, &Request{}, "emit budget (3) exceeded"},
		{"depth", `events::emit("t", 1)`, depth(DefaultMaxEventDepth), "event chain depth limit (8) reached"},
		{"topic upper case", `events::emit("Order.Created", 1)`, &Request{}, `"Order.Created" is not a topic`},
		{"topic empty", `events::emit("", 1)`, &Request{}, `"" is not a topic`},
		{"topic long", `events::emit("` + strings.Repeat("a", 129) + `", 1)`, &Request{}, `"<129 bytes>" is not a topic`},
		{"topic not a string", `events::emit(42, 1)`, &Request{}, "the topic must be a string, not i64"},
		{"payload too large", `events::emit("t", "` + big + `")`, &Request{}, "payload over the limit of 65536 bytes of JSON"},
		{"payload a function", `events::emit("t", |x| x)`, &Request{}, "cannot be a payload"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runOn(t, x, tc.src, tc.req, nil)
			wantStatus(t, res, picloud.StatusError, picloud.EScriptError, rhai.ErrRuntime)
			if !strings.Contains(res.Err.Message, tc.msg) || res.Events != nil {
				t.Fatalf("error %q (want %q), events %+v", res.Err.Message, tc.msg, res.Events)
			}
		})
	}

	// Under the limits, and a refused emit caught: the execution succeeds
	// with the events emitted before.
	res := runOn(t, x, `for i in 0..4 { try { events::emit("t", i) } catch {} }`, &Request{}, nil)
	wantStatus(t, res, picloud.StatusSuccess, "", "")
	if len(res.Events) != 3 || string(res.Events[2].Payload) != "2" {
		t.Fatalf("events %+v", res.Events)
	}
	res = runOn(t, x, `events::emit("t", 1)`, depth(DefaultMaxEventDepth-1), nil)
	wantStatus(t, res, picloud.StatusSuccess, "", "")
	if len(res.Events) != 1 || res.Events[0].Depth != DefaultMaxEventDepth {
		t.Fatalf("events %+v", res.Events)
	}
	// A payload just under the limit (a string's JSON adds its quotes).
	res = runOn(t, x, `events::emit("t", "`+big[:MaxEventPayloadBytes-2]+`")`, &Request{}, nil)
	wantStatus(t, res, picloud.StatusSuccess, "", "")
}

package rhai_test

import (
	"context"
	"testing"

	"github.com/picloud/picloud/rhai"
)

// BenchmarkHandler is bench's seventh workload (bench/scripts/handler.rhai with
// bench/workloads.go's RequestBody) in-process, evaluated as bench's Run does:
// a fresh scope holding `body` per evaluation.
//
//	go test ./rhai -run '^$' -bench Handler -count 6
func BenchmarkHandler(b *testing.B) {
	eng := rhai.New()
	ast, err := eng.Compile("handler.rhai", scriptHandler)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	run := func() rhai.Value {
		scope := rhai.NewScope()
		scope.Push("body", rhai.String(handlerBody))
		v, err := eng.Eval(ctx, ast, scope)
		if err != nil {
			b.Fatal(err)
		}
		return v
	}
	if got, want := run().String(), handlerWant; got != want {
		b.Fatalf("got %s\nwant %s", got, want)
	}
	b.ReportAllocs()
	for b.Loop() {
		run()
	}
}

const scriptHandler = `// handler: parse the JSON request body, price the order, build the response map.
let req = parse_json(body);
let user = req.user;
let lines = [];
let subtotal = 0.0;
let count = 0;
for item in req.items {
    let line = item.qty * item.price;
    subtotal += line;
    count += item.qty;
    let tags = [];
    for t in item.tags { tags.push(t.to_upper()); }
    lines.push(#{ sku: item.sku, qty: item.qty, total: line, tags: tags });
}
let discount = 0.0;
if req.coupon == "SPRING10" { discount += subtotal * 0.1; }
if user.tier == "gold" { discount += subtotal * 0.05; }
#{
    status: 200,
    headers: #{ "content-type": "application/json", "x-request-id": req.request_id },
    body: #{
        user: #{ id: user.id, name: user.name, email: user.email.to_lower() },
        lines: lines,
        item_count: count,
        subtotal: subtotal,
        discount: discount,
        total: subtotal - discount,
    },
}
`

const handlerBody = `{
  "request_id": "req-7f3a9c",
  "user": {"id": 1042, "name": "Ada Lovelace", "email": "Ada.Lovelace@Example.COM", "tier": "gold"},
  "items": [
    {"sku": "PI-0001", "qty": 2, "price": 12.5, "tags": ["new", "promo"]},
    {"sku": "PI-0002", "qty": 1, "price": 99.75, "tags": ["bulky"]},
    {"sku": "PI-0003", "qty": 5, "price": 3.25, "tags": ["small", "fragile", "promo"]},
    {"sku": "PI-0004", "qty": 3, "price": 7.0, "tags": ["gift"]},
    {"sku": "PI-0005", "qty": 1, "price": 249.5, "tags": ["bulky", "insured"]},
    {"sku": "PI-0006", "qty": 4, "price": 0.5, "tags": ["small"]},
    {"sku": "PI-0007", "qty": 2, "price": 18.25, "tags": ["promo"]},
    {"sku": "PI-0008", "qty": 6, "price": 1.125, "tags": ["small", "new"]}
  ],
  "coupon": "SPRING10",
  "note": "leave at the door"
}`

// handlerWant is the response map as Value.String prints it.
const handlerWant = `#{"body": #{"discount": 68.5125, "item_count": 24, "lines": [#{"qty": 2, "sku": "PI-0001", "tags": ["NEW", "PROMO"], "total": 25.0}, #{"qty": 1, "sku": "PI-0002", "tags": ["BULKY"], "total": 99.75}, #{"qty": 5, "sku": "PI-0003", "tags": ["SMALL", "FRAGILE", "PROMO"], "total": 16.25}, #{"qty": 3, "sku": "PI-0004", "tags": ["GIFT"], "total": 21.0}, #{"qty": 1, "sku": "PI-0005", "tags": ["BULKY", "INSURED"], "total": 249.5}, #{"qty": 4, "sku": "PI-0006", "tags": ["SMALL"], "total": 2.0}, #{"qty": 2, "sku": "PI-0007", "tags": ["PROMO"], "total": 36.5}, #{"qty": 6, "sku": "PI-0008", "tags": ["SMALL", "NEW"], "total": 6.75}], "subtotal": 456.75, "total": 388.2375, "user": #{"email": "ada.lovelace@example.com", "id": 1042, "name": "Ada Lovelace"}}, "headers": #{"content-type": "application/json", "x-request-id": "req-7f3a9c"}, "status": 200}`

// handler: parse the JSON request body, price the order, build the response object.
(function () {
    const req = JSON.parse(body);
    const user = req.user;
    const lines = [];
    let subtotal = 0.0;
    let count = 0;
    for (const item of req.items) {
        const line = item.qty * item.price;
        subtotal += line;
        count += item.qty;
        const tags = [];
        for (const t of item.tags) tags.push(t.toUpperCase());
        lines.push({ sku: item.sku, qty: item.qty, total: line, tags: tags });
    }
    let discount = 0.0;
    if (req.coupon === "SPRING10") discount += subtotal * 0.1;
    if (user.tier === "gold") discount += subtotal * 0.05;
    return {
        status: 200,
        headers: { "content-type": "application/json", "x-request-id": req.request_id },
        body: {
            user: { id: user.id, name: user.name, email: user.email.toLowerCase() },
            lines: lines,
            item_count: count,
            subtotal: subtotal,
            discount: discount,
            total: subtotal - discount,
        },
    };
})()

-- handler: parse the JSON request body (json_decode is a Go function the host
-- registers), price the order, build the response table.
local req = json_decode(body)
local user = req.user
local lines = {}
local subtotal = 0.0
local count = 0
for _, item in ipairs(req.items) do
    local line = item.qty * item.price
    subtotal = subtotal + line
    count = count + item.qty
    local tags = {}
    for _, t in ipairs(item.tags) do tags[#tags + 1] = string.upper(t) end
    lines[#lines + 1] = { sku = item.sku, qty = item.qty, total = line, tags = tags }
end
local discount = 0.0
if req.coupon == "SPRING10" then discount = discount + subtotal * 0.1 end
if user.tier == "gold" then discount = discount + subtotal * 0.05 end
return {
    status = 200,
    headers = { ["content-type"] = "application/json", ["x-request-id"] = req.request_id },
    body = {
        user = { id = user.id, name = user.name, email = string.lower(user.email) },
        lines = lines,
        item_count = count,
        subtotal = subtotal,
        discount = discount,
        total = subtotal - discount,
    },
}

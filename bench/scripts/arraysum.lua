-- arraysum: append 1,000,000 integers to a table, then sum the table.
local items = {}
for i = 0, 999999 do
    items[#items + 1] = i
end
local total = 0
for _, v in ipairs(items) do
    total = total + v
end
if total ~= 499999500000 then error("wrong answer: " .. total) end
return total

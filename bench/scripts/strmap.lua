-- strmap: 4 x 210 x 226 = 189,840 concatenated keys put into a table,
-- looked up and summed, then all removed.
local first = {"quite", "rather", "truly", "very"}
local second = {}
for i = 0, 209 do second[#second + 1] = "adjective" .. i end
local third = {}
for i = 0, 225 do third[#third + 1] = "animal number " .. i end
local keys = {}
for _, c in ipairs(third) do
    for _, b in ipairs(second) do
        for _, a in ipairs(first) do
            keys[#keys + 1] = a .. " " .. b .. " " .. c
        end
    end
end
local tbl = {}
local n = 0
for _, k in ipairs(keys) do
    tbl[k] = n
    n = n + 1
end
local sum = 0
for _, k in ipairs(keys) do
    sum = sum + tbl[k]
end
for _, k in ipairs(keys) do
    tbl[k] = nil
end
if next(tbl) ~= nil then error("table not empty") end
return sum

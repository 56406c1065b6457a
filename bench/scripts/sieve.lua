-- sieve: primes up to 1,000,000 with a sieve of Eratosthenes on a bool array
-- (a table indexed 0..LIMIT).
local LIMIT = 1000000
local marks = {}
for i = 0, LIMIT do marks[i] = true end
marks[0] = false
marks[1] = false
local found = 0
for p = 2, LIMIT do
    if marks[p] then
        found = found + 1
        for k = 2 * p, LIMIT, p do
            marks[k] = false
        end
    end
end
if found ~= 78498 then error("wrong answer: " .. found) end
return found

-- fib: recursive Fibonacci, fib(28) evaluated five times.
local function fib(n)
    if n < 2 then return n end
    return fib(n - 1) + fib(n - 2)
end
local result = 0
for i = 0, 4 do
    result = fib(28)
end
if result ~= 317811 then error("wrong answer: " .. result) end
return result

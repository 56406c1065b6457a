// fib: recursive Fibonacci, fib(28) evaluated five times.
(function () {
    function fib(n) {
        return n < 2 ? n : fib(n - 1) + fib(n - 2);
    }
    let result = 0;
    for (let i = 0; i < 5; i++) {
        result = fib(28);
    }
    if (result !== 317811) throw new Error("wrong answer: " + result);
    return result;
})()

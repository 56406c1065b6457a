// sieve: primes up to 1,000,000 with a sieve of Eratosthenes on a bool array.
(function () {
    const LIMIT = 1000000;
    const marks = new Array(LIMIT + 1).fill(true);
    marks[0] = false;
    marks[1] = false;
    let found = 0;
    for (let p = 2; p <= LIMIT; p++) {
        if (!marks[p]) continue;
        found += 1;
        for (let k = 2 * p; k <= LIMIT; k += p) {
            marks[k] = false;
        }
    }
    if (found !== 78498) throw new Error("wrong answer: " + found);
    return found;
})()

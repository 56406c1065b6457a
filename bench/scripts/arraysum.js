// arraysum: push 1,000,000 integers onto an array, then sum the array.
(function () {
    const items = [];
    for (let i = 0; i < 1000000; i++) {
        items.push(i);
    }
    let total = 0;
    for (const v of items) {
        total += v;
    }
    if (total !== 499999500000) throw new Error("wrong answer: " + total);
    return total;
})()

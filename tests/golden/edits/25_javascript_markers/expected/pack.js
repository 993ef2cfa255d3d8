// Bin packing heuristic (first fit by default).
const CAPACITY = 100;

// EVOLVE-BLOCK-START
function chooseBin(bins, item) {
  let best = -1;
  for (let i = 0; i < bins.length; i++) {
    const room = CAPACITY - bins[i] - item;
    if (room >= 0 && (best < 0 || room < CAPACITY - bins[best] - item)) best = i;
  }
  return best;
}
// EVOLVE-BLOCK-END

module.exports = { chooseBin, CAPACITY };

// Bin packing heuristic (first fit by default).
const CAPACITY = 100;

// EVOLVE-BLOCK-START
function chooseBin(bins, item) {
  for (let i = 0; i < bins.length; i++) {
    if (bins[i] + item <= CAPACITY) return i;
  }
  return -1;
}
// EVOLVE-BLOCK-END

module.exports = { chooseBin, CAPACITY };

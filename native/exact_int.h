// A JavaScript number read as a C int, exactly. Node-API's own int32 conversion reads NaN and
// Infinity as 0, 1.9 as 1 and 2 ** 32 + 1 as 1: a wrong number would name another descriptor
// (NaN: stdin) or another timeout.
#ifndef SOCKCLOSE_EXACT_INT_H_
#define SOCKCLOSE_EXACT_INT_H_

#include <climits>

namespace sockclose {

// True, with `*out` set, if `number` is an integer in [min, INT_MAX].
inline bool ExactInt(double number, int min, int* out) {
  // The range test comes first: converting an out-of-range double to int is undefined behaviour.
  if (!(number >= min && number <= INT_MAX) || static_cast<double>(static_cast<int>(number)) != number) return false;
  *out = static_cast<int>(number);
  return true;
}

}  // namespace sockclose

#endif  // SOCKCLOSE_EXACT_INT_H_

// A JavaScript number read as a C int, exactly. Node-API's own int32 conversion reads NaN and
// Infinity as 0, 1.9 as 1 and 2 ** 32 + 1 as 1: a wrong number would name another descriptor
// (NaN: stdin) or another timeout.
#ifndef SOCKCLOSE_EXACT_INT_H_
#define SOCKCLOSE_EXACT_INT_H_

#include <climits>
#include <cstdint>

namespace sockclose {

// True, with `*out` set, if `number` is an integer in [min, INT_MAX].
inline bool ExactInt(double number, int min, int* out) {
  // The range test comes first: converting an out-of-range double to int is undefined behaviour.
  if (!(number >= min && number <= INT_MAX) || static_cast<double>(static_cast<int>(number)) != number) return false;
  *out = static_cast<int>(number);
  return true;
}

// True, with `*out` set, if `number` is an integer in [0, 2 ** 32 - 1]: the lingerer's tokens and
// groups, which napi_get_value_uint32() would take modulo 2 ** 32 (NaN as 0, -1 as 2 ** 32 - 1),
// naming another linger or another server's group.
inline bool ExactUint32(double number, uint32_t* out) {
  if (!(number >= 0 && number <= UINT32_MAX) || static_cast<double>(static_cast<uint32_t>(number)) != number) return false;
  *out = static_cast<uint32_t>(number);
  return true;
}

}  // namespace sockclose

#endif  // SOCKCLOSE_EXACT_INT_H_

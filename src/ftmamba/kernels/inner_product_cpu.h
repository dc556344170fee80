// defines: inner_product_cpu, <a, b> of two contiguous vectors of n values, on the instruction-set path
// cpu_isa() chose: the item search of a server scores thousands of short vectors (the embedding size, 32 to 256)
// per request, and FAISS's own product is the scalar one in a portable build of the library.
#pragma once
#include <cstdint>

namespace ftmamba::kernels {

// sum_i a[i] * b[i], i in [0, n); 0 for n <= 0. Summed in vector lanes, then across them in a fixed order, so the
// result is the same from call to call on one path (paths may differ in the last bits).
float inner_product_cpu(const float* a, const float* b, int64_t n);
double inner_product_cpu(const double* a, const double* b, int64_t n);

}  // namespace ftmamba::kernels

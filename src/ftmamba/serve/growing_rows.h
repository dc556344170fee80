// defines: GrowingRows, a (rows, E) float32 matrix that items are appended to one at a time, with room doubled as
// it fills so that appending n rows copies O(n) rows in all rather than O(n^2).
#pragma once
#include <torch/torch.h>

#include <algorithm>
#include <cstdint>

namespace ftmamba::serve {

class GrowingRows {
 public:
  GrowingRows() = default;
  // Starts with `rows` ((n, E) float32), kept on its device.
  explicit GrowingRows(const torch::Tensor& rows) : buffer_(rows.contiguous().clone()), size_(rows.size(0)) {}

  // The rows so far: (size, E), a view of the buffer (valid until the next append).
  torch::Tensor view() const { return buffer_.narrow(0, 0, size_); }
  int64_t size() const { return size_; }
  int64_t dim() const { return buffer_.size(1); }

  void append(const torch::Tensor& row) {  // row: (E)
    if (size_ == buffer_.size(0)) {
      auto bigger = torch::empty({std::max<int64_t>(16, 2 * size_), dim()}, buffer_.options());
      bigger.narrow(0, 0, size_).copy_(view());
      buffer_ = bigger;
    }
    buffer_[size_].copy_(row);
    ++size_;
  }
  void set(int64_t row, const torch::Tensor& value) { buffer_[row].copy_(value); }  // value: (E)

 private:
  torch::Tensor buffer_;  // (capacity, E)
  int64_t size_ = 0;
};

}  // namespace ftmamba::serve

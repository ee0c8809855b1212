#include "histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "common/assert.h"

namespace kv::bench {

namespace {

constexpr std::size_t kTopBucket = Histogram::kBucketCount - 1;

// log2 of the bucket width for ranges at or above kExactLimit: the range [2^e, 2^(e+1))
// holds kSubBucketsPerRange buckets, so the width is 2^(e - kSubBucketBits + 1).
int width_shift(int exponent) { return exponent - Histogram::kSubBucketBits + 1; }

}  // namespace

Histogram::Histogram() : counts_(kBucketCount, 0) {}

std::size_t Histogram::bucket_of(std::uint64_t value) {
  if (value < kExactLimit) return static_cast<std::size_t>(value);
  const int exponent = static_cast<int>(std::bit_width(value)) - 1;  // value in [2^exponent, 2^(exponent+1))
  if (exponent >= kMaxExponent) return kTopBucket;
  const std::uint64_t sub = (value >> width_shift(exponent)) - kSubBucketsPerRange;  // [0, 128)
  KV_ASSERT(sub < kSubBucketsPerRange);
  const std::size_t bucket = static_cast<std::size_t>(
      kExactLimit + static_cast<std::uint64_t>(exponent - kSubBucketBits) * kSubBucketsPerRange + sub);
  KV_ASSERT(bucket <= kTopBucket);
  return bucket;
}

std::uint64_t Histogram::bucket_lowest(std::size_t bucket) {
  KV_ASSERT(bucket < kBucketCount);
  if (bucket < kExactLimit) return bucket;
  const std::uint64_t beyond = bucket - kExactLimit;
  const int exponent = kSubBucketBits + static_cast<int>(beyond / kSubBucketsPerRange);
  const std::uint64_t sub = beyond % kSubBucketsPerRange;
  return (kSubBucketsPerRange + sub) << width_shift(exponent);
}

std::uint64_t Histogram::bucket_highest(std::size_t bucket) {
  KV_ASSERT(bucket < kBucketCount);
  if (bucket < kExactLimit) return bucket;
  const int exponent = kSubBucketBits + static_cast<int>((bucket - kExactLimit) / kSubBucketsPerRange);
  return bucket_lowest(bucket) + ((std::uint64_t{1} << width_shift(exponent)) - 1);
}

void Histogram::record_n(std::uint64_t value, std::uint64_t times) {
  if (times == 0) return;
  counts_[bucket_of(value)] += times;
  if (count_ == 0 || value < min_) min_ = value;
  max_ = std::max(max_, value);
  count_ += times;
  sum_ += static_cast<double>(value) * static_cast<double>(times);
}

void Histogram::merge(const Histogram& other) {
  KV_ASSERT(counts_.size() == other.counts_.size());
  if (other.count_ == 0) return;
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  sum_ += other.sum_;
}

void Histogram::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = min_ = max_ = 0;
  sum_ = 0;
}

double Histogram::mean() const { return count_ == 0 ? 0.0 : sum_ / static_cast<double>(count_); }

std::uint64_t Histogram::value_at_percentile(double percentile) const {
  if (count_ == 0) return 0;
  const double p = std::clamp(percentile, 0.0, 100.0);
  // Nearest rank: the ceil(p/100 * n)-th smallest sample, at least the first.
  const auto rank = std::clamp<std::uint64_t>(
      static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_))), 1, count_);
  if (rank == 1) return min_;
  if (rank == count_) return max_;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen < rank) continue;
    // The top bucket also holds everything beyond 2^40: only max() is an upper bound there.
    if (i == kTopBucket) return max_;
    return std::clamp(bucket_highest(i), min_, max_);
  }
  KV_PANIC("the bucket counts sum to less than count()");
}

}  // namespace kv::bench

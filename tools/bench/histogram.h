// Histogram: an HDR-style (log-linear) histogram of non-negative integers, for kvbench's
// latencies in nanoseconds. Constant memory (4,352 counters, 34 KiB) and O(1) record, however
// many samples: a 10-minute run at 100k ops/s costs the same as a 1-second one, unlike a
// sorted vector of every sample.
//
// Layout (HdrHistogram's, with 8 sub-bucket bits): values below 256 have a counter each
// (exact). Above, every power-of-two range [2^e, 2^(e+1)) is split into 128 equal buckets of
// width 2^(e-7), so any recorded value is known to within 1/128 (0.78%) of itself. Values at
// or above 2^40 (about 18 minutes in ns) share the top bucket; min(), max() and mean() stay
// exact whatever the value.
//
// Percentiles follow the nearest-rank rule and report the bucket's highest equivalent value
// (as HdrHistogram does), clamped to [min(), max()]: the answer is never below the true
// nearest-rank sample and never more than 0.78% above it.
//
// Thread-safety: none. kvbench keeps one per io thread and merges them at the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kv::bench {

class Histogram {
 public:
  static constexpr int kSubBucketBits = 8;
  static constexpr std::uint64_t kExactLimit = std::uint64_t{1} << kSubBucketBits;   // 256
  static constexpr std::uint64_t kSubBucketsPerRange = kExactLimit / 2;             // 128
  static constexpr int kMaxExponent = 40;  // values >= 2^40 land in the top bucket
  static constexpr std::size_t kBucketCount =
      kExactLimit + static_cast<std::size_t>(kMaxExponent - kSubBucketBits) * kSubBucketsPerRange;
  static_assert(kBucketCount == 4352, "the layout the header describes");
  static_assert(kMaxExponent < 64 && kSubBucketBits >= 2, "shifts stay within 64 bits");

  Histogram();

  void record(std::uint64_t value) { record_n(value, 1); }
  void record_n(std::uint64_t value, std::uint64_t times);
  // Adds every sample of `other`. Exact: merging equals recording the union.
  void merge(const Histogram& other);
  void reset();

  std::uint64_t count() const { return count_; }
  // 0 when empty.
  std::uint64_t min() const { return count_ == 0 ? 0 : min_; }
  std::uint64_t max() const { return max_; }
  double mean() const;

  // Nearest-rank percentile, `percentile` in [0, 100] (clamped): the smallest recorded value
  // v (to the histogram's precision) such that at least percentile% of the samples are <= v.
  // percentile 0 gives min(), 100 gives max(). 0 when empty.
  std::uint64_t value_at_percentile(double percentile) const;

  // The layout, exposed for tests: the bucket holding `value`, and the smallest and largest
  // values that share that bucket.
  static std::size_t bucket_of(std::uint64_t value);
  static std::uint64_t bucket_lowest(std::size_t bucket);
  static std::uint64_t bucket_highest(std::size_t bucket);

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t min_ = 0;
  std::uint64_t max_ = 0;
  // Sum of values for the mean; a double, since 10^7 samples of minutes in ns overflow 64 bits.
  double sum_ = 0;
};

}  // namespace kv::bench

// kvbench's latency histogram (tools/bench/histogram.h): the layout, and the percentiles
// checked against the naive answer (sort every sample, take the nearest rank) over random
// inputs, as the header promises: never below the true sample, at most 1/128 above it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "histogram.h"

namespace {

using kv::bench::Histogram;

// The oracle: nearest-rank percentile of the sorted samples.
std::uint64_t naive_percentile(std::vector<std::uint64_t> samples, double percentile) {
  std::sort(samples.begin(), samples.end());
  const auto n = static_cast<double>(samples.size());
  auto rank = static_cast<std::size_t>(std::ceil(percentile / 100.0 * n));
  rank = std::clamp<std::size_t>(rank, 1, samples.size());
  return samples[rank - 1];
}

// The header's precision promise for one answer.
void check_close(std::uint64_t got, std::uint64_t exact) {
  INFO("exact " << exact << ", histogram " << got);
  REQUIRE(got >= exact);
  if (exact < Histogram::kExactLimit) {
    REQUIRE(got == exact);
  } else {
    REQUIRE(got - exact <= exact / Histogram::kSubBucketsPerRange);
  }
}

const double kPercentiles[] = {0, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100};

}  // namespace

TEST_CASE("histogram: an empty histogram reports zeros", "[bench]") {
  const Histogram h;
  REQUIRE(h.count() == 0);
  REQUIRE(h.min() == 0);
  REQUIRE(h.max() == 0);
  REQUIRE(h.mean() == 0.0);
  REQUIRE(h.value_at_percentile(50) == 0);
  REQUIRE(h.value_at_percentile(100) == 0);
}

TEST_CASE("histogram: buckets tile the value range without gaps or overlaps", "[bench]") {
  REQUIRE(Histogram::bucket_lowest(0) == 0);
  for (std::size_t b = 0; b + 1 < Histogram::kBucketCount; ++b) {
    INFO("bucket " << b);
    REQUIRE(Histogram::bucket_lowest(b) <= Histogram::bucket_highest(b));
    REQUIRE(Histogram::bucket_highest(b) + 1 == Histogram::bucket_lowest(b + 1));
    REQUIRE(Histogram::bucket_of(Histogram::bucket_lowest(b)) == b);
    REQUIRE(Histogram::bucket_of(Histogram::bucket_highest(b)) == b);
  }
  // Width relative to value: exact below 256, then at most 1/128.
  for (std::size_t b = Histogram::kExactLimit; b < Histogram::kBucketCount; ++b) {
    const std::uint64_t width = Histogram::bucket_highest(b) - Histogram::bucket_lowest(b) + 1;
    REQUIRE(width * Histogram::kSubBucketsPerRange <= Histogram::bucket_lowest(b));
  }
  REQUIRE(Histogram::bucket_highest(Histogram::kBucketCount - 1) == (std::uint64_t{1} << Histogram::kMaxExponent) - 1);
}

TEST_CASE("histogram: small values are exact", "[bench]") {
  Histogram h;
  for (std::uint64_t v = 0; v < Histogram::kExactLimit; ++v) h.record(v);
  REQUIRE(h.count() == Histogram::kExactLimit);
  REQUIRE(h.min() == 0);
  REQUIRE(h.max() == Histogram::kExactLimit - 1);
  REQUIRE(h.value_at_percentile(50) == 127);  // rank 128 of 0..255
  REQUIRE(h.mean() == Approx(127.5));
}

TEST_CASE("histogram: percentiles match the sorted-vector oracle on random inputs", "[bench]") {
  std::mt19937_64 rng(20240601);
  // Three shapes: uniform over a narrow band, log-uniform over 1 ns .. 100 s (latencies),
  // and a bimodal mix with a far tail (fast reads, slow fsyncs).
  for (int shape = 0; shape < 3; ++shape) {
    for (int trial = 0; trial < 20; ++trial) {
      const std::size_t n = 1 + rng() % 5000;
      std::vector<std::uint64_t> samples;
      Histogram h;
      for (std::size_t i = 0; i < n; ++i) {
        std::uint64_t v = 0;
        if (shape == 0) {
          v = 900'000 + rng() % 200'000;
        } else if (shape == 1) {
          v = static_cast<std::uint64_t>(std::exp2(std::uniform_real_distribution<double>(0, 36.5)(rng)));
        } else {
          v = rng() % 100 == 0 ? 50'000'000 + rng() % 1'000'000'000 : 200'000 + rng() % 50'000;
        }
        samples.push_back(v);
        h.record(v);
      }
      INFO("shape " << shape << ", trial " << trial << ", n " << n);
      REQUIRE(h.count() == n);
      REQUIRE(h.min() == *std::min_element(samples.begin(), samples.end()));
      REQUIRE(h.max() == *std::max_element(samples.begin(), samples.end()));
      for (double p : kPercentiles) {
        INFO("p" << p);
        check_close(h.value_at_percentile(p), naive_percentile(samples, p));
      }
    }
  }
}

TEST_CASE("histogram: merging equals recording the union", "[bench]") {
  std::mt19937_64 rng(7);
  Histogram a, b, both;
  for (int i = 0; i < 3000; ++i) {
    const std::uint64_t v = rng() % 10'000'000;
    (i % 3 == 0 ? a : b).record(v);
    both.record(v);
  }
  Histogram merged;
  merged.merge(a);
  merged.merge(b);
  merged.merge(Histogram{});  // an empty one changes nothing
  REQUIRE(merged.count() == both.count());
  REQUIRE(merged.min() == both.min());
  REQUIRE(merged.max() == both.max());
  REQUIRE(merged.mean() == Approx(both.mean()));
  for (double p : kPercentiles) REQUIRE(merged.value_at_percentile(p) == both.value_at_percentile(p));
}

TEST_CASE("histogram: values beyond the top bucket keep an exact max", "[bench]") {
  Histogram h;
  const std::uint64_t huge = std::uint64_t{1} << 50;
  h.record(1000);
  h.record_n(huge, 3);
  REQUIRE(h.count() == 4);
  REQUIRE(h.max() == huge);
  REQUIRE(h.value_at_percentile(100) == huge);
  REQUIRE(h.value_at_percentile(60) == huge);  // rank 3 falls in the top bucket: max is the bound
  REQUIRE(h.value_at_percentile(10) == 1000);
  h.reset();
  REQUIRE(h.count() == 0);
  REQUIRE(h.value_at_percentile(99) == 0);
}

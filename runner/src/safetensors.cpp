// safetensors data access (mmap; headers parsed and checked by the analyzer's parser), writer, dtype conversions.
#include "llmcost/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "llmcost/error.h"
#include "llmcost/input_file.h"

namespace llmcost {

namespace fs = std::filesystem;
using nlohmann::json;

// ---------------------------------------------------------------- conversions

float fp16_to_fp32(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t man = h & 0x3ffu;
  uint32_t u;
  if (exp == 0) {
    if (man == 0) {
      u = sign;
    } else {  // subnormal: normalize
      int e = -1;
      do {
        ++e;
        man <<= 1;
      } while ((man & 0x400u) == 0);
      u = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
    }
  } else if (exp == 31) {
    u = sign | 0x7f800000u | (man << 13);
  } else {
    u = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t fp32_to_fp16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return sign | 0x7e00u;  // NaN
  if (a >= 0x477ff000u) return sign | 0x7c00u;  // rounds to >= 65520: inf
  if (a < 0x38800000u) {                        // below the smallest normal half (2^-14): subnormal
    // value = a_float; half subnormal unit = 2^-24. Round to nearest even of value / 2^-24.
    float af;
    std::memcpy(&af, &a, 4);
    float q = af * 16777216.0f;  // exact: scaling by a power of two
    float r = std::nearbyint(q);  // default rounding mode: nearest even
    return sign | static_cast<uint16_t>(r);
  }
  uint32_t mant = a + 0xfffu + ((a >> 13) & 1u);  // round to nearest even at bit 13
  uint32_t exp = (mant >> 23) - 127 + 15;
  return sign | static_cast<uint16_t>((exp << 10) | ((mant >> 13) & 0x3ffu));
}

float fp8_e4m3_to_fp32(uint8_t b) {
  int sign = (b & 0x80) ? -1 : 1;
  int exp = (b >> 3) & 0xf;
  int man = b & 0x7;
  if (exp == 15 && man == 7) return std::numeric_limits<float>::quiet_NaN();
  float v = exp == 0 ? std::ldexp(static_cast<float>(man) / 8.0f, -6)
                     : std::ldexp(1.0f + static_cast<float>(man) / 8.0f, exp - 7);
  return static_cast<float>(sign) * v;
}

uint8_t fp32_to_fp8_e4m3(float f) {
  if (std::isnan(f)) return 0x7f;
  uint8_t sign = std::signbit(f) ? 0x80 : 0x00;
  float a = std::fabs(f);
  if (a >= 448.0f) return sign | 0x7e;
  // Nearest of the 127 finite non-negative codes; ties go to the even code. Only the writer
  // (tests, fixtures) encodes, so clarity beats speed here.
  uint8_t best = 0;
  float best_d = std::numeric_limits<float>::infinity();
  for (int c = 0; c <= 0x7e; ++c) {
    float d = std::fabs(fp8_e4m3_to_fp32(static_cast<uint8_t>(c)) - a);
    if (d < best_d || (d == best_d && (c & 1) == 0)) {
      best = static_cast<uint8_t>(c);
      best_d = d;
    }
  }
  return sign | best;
}

float fp8_e5m2_to_fp32(uint8_t b) {
  int sign = (b & 0x80) ? -1 : 1;
  int exp = (b >> 2) & 0x1f;
  int man = b & 0x3;
  if (exp == 31) return man == 0 ? static_cast<float>(sign) * std::numeric_limits<float>::infinity()
                                 : std::numeric_limits<float>::quiet_NaN();
  float v = exp == 0 ? std::ldexp(static_cast<float>(man) / 4.0f, -14)
                     : std::ldexp(1.0f + static_cast<float>(man) / 4.0f, exp - 15);
  return static_cast<float>(sign) * v;
}

float fp8_e8m0_to_fp32(uint8_t b) {
  if (b == 0xff) return std::numeric_limits<float>::quiet_NaN();
  return std::ldexp(1.0f, static_cast<int>(b) - 127);
}

void bf16_to_fp32(const uint16_t* in, float* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = bf16_to_fp32(in[i]);
}
void fp32_to_bf16(const float* in, uint16_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = fp32_to_bf16(in[i]);
}

// ---------------------------------------------------------------- SafetensorsFile

struct SafetensorsFile::Impl {
  SafetensorsHeader header;
  void* map = nullptr;
  size_t map_bytes = 0;
  const uint8_t* data_section = nullptr;  // first byte after the header

  ~Impl() {
    if (map) ::munmap(map, map_bytes);
  }
};

SafetensorsFile::SafetensorsFile(const std::string& path) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  uint64_t file_bytes = 0;
  int fd = open_regular_file(path, &file_bytes);  // refuses a FIFO or device without blocking
  if (file_bytes < 8) {
    ::close(fd);
    parse_safetensors_header(path, nullptr, 0, file_bytes);  // throws "truncated safetensors file"
  }
  m.map_bytes = static_cast<size_t>(file_bytes);
  m.map = ::mmap(nullptr, m.map_bytes, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (m.map == MAP_FAILED) {
    m.map = nullptr;
    throw Error(path + ": cannot map file (" + std::strerror(errno) + ")");
  }
  // The header is parsed from the mapped bytes themselves: what is checked is what is read.
  const uint8_t* base = static_cast<const uint8_t*>(m.map);
  m.header = parse_safetensors_header(path, base, file_bytes, file_bytes);
  m.data_section = base + m.header.data_offset();
}

SafetensorsFile::~SafetensorsFile() = default;
SafetensorsFile::SafetensorsFile(SafetensorsFile&&) noexcept = default;
SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&&) noexcept = default;

const std::string& SafetensorsFile::path() const { return impl_->header.path; }
const SafetensorsHeader& SafetensorsFile::header() const { return impl_->header; }
const std::vector<TensorInfo>& SafetensorsFile::tensors() const { return impl_->header.tensors; }
const std::map<std::string, std::string>& SafetensorsFile::metadata() const { return impl_->header.metadata; }
const TensorInfo* SafetensorsFile::find(const std::string& name) const { return impl_->header.find(name); }
const TensorInfo& SafetensorsFile::at(const std::string& name) const {
  const TensorInfo* t = find(name);
  if (!t) throw Error(path() + ": tensor '" + name + "' not found");
  return *t;
}
const uint8_t* SafetensorsFile::data(const TensorInfo& t) const { return impl_->data_section + t.begin_bytes; }

// ---------------------------------------------------------------- SafetensorsCheckpoint

struct SafetensorsCheckpoint::Impl {
  SafetensorsCheckpointHeaders headers;   // the analyzer's reading of every shard's header
  std::vector<SafetensorsFile> files;     // the same shards, mapped; files[i] is headers.files[i]

  [[noreturn]] void fail(const std::string& what) const { throw Error(headers.path + ": " + what); }
};

SafetensorsCheckpoint::SafetensorsCheckpoint(const std::string& path) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  // Each shard is mapped once and its header parsed from the map; the checkpoint logic (index,
  // confinement, duplicates) is the analyzer's.
  m.headers = read_safetensors_checkpoint(path, [&m](const std::string& shard) {
    m.files.emplace_back(shard);
    return m.files.back().header();
  });
}

SafetensorsCheckpoint::~SafetensorsCheckpoint() = default;
SafetensorsCheckpoint::SafetensorsCheckpoint(SafetensorsCheckpoint&&) noexcept = default;
SafetensorsCheckpoint& SafetensorsCheckpoint::operator=(SafetensorsCheckpoint&&) noexcept = default;

const std::string& SafetensorsCheckpoint::path() const { return impl_->headers.path; }
const SafetensorsCheckpointHeaders& SafetensorsCheckpoint::headers() const { return impl_->headers; }
size_t SafetensorsCheckpoint::size() const { return impl_->headers.tensors.size(); }
std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> out;
  out.reserve(impl_->headers.tensors.size());
  for (const auto& [k, v] : impl_->headers.tensors) out.push_back(k);
  return out;
}
const TensorInfo* SafetensorsCheckpoint::find(const std::string& name) const { return impl_->headers.find(name); }
const TensorInfo& SafetensorsCheckpoint::at(const std::string& name) const {
  const TensorInfo* t = find(name);
  if (!t) impl_->fail("tensor '" + name + "' not found");
  return *t;
}
const uint8_t* SafetensorsCheckpoint::data(const TensorInfo& t) const {
  auto it = impl_->headers.tensors.find(t.name);
  if (it == impl_->headers.tensors.end() || &impl_->headers.info(it->second) != &t)
    impl_->fail("tensor '" + t.name + "' is not from this checkpoint");
  const SafetensorsFile& f = impl_->files[it->second.first];
  return f.data(f.tensors()[it->second.second]);
}

namespace {

const TensorInfo& checked(const SafetensorsCheckpoint& ck, const std::string& name, const std::vector<int64_t>& shape) {
  const TensorInfo& t = ck.at(name);
  if (t.shape != shape)
    throw Error(t.file + ": tensor '" + name + "' has shape " + shape_string(t.shape) + ", expected " + shape_string(shape));
  if (!is_float_dtype(t.dtype))
    throw Error(t.file + ": tensor '" + name + "' has dtype " + tensor_dtype_name(t.dtype) +
                ", expected a float dtype (F32, F16, BF16, F8_E4M3, F8_E5M2, F8_E8M0, F64)");
  return t;
}

template <typename T>
T load_le(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));  // x86/ARM little-endian; the data may be unaligned
  return v;
}

// Converts n elements of a float dtype to fp32 with one loop per dtype (the dtype switch stays
// out of the inner loop). p may be unaligned.
void convert_to_f32(TensorDtype d, const uint8_t* p, float* out, size_t n) {
  switch (d) {
    case TensorDtype::F32: std::memcpy(out, p, n * 4); return;
    case TensorDtype::BF16: for (size_t i = 0; i < n; ++i) out[i] = bf16_to_fp32(load_le<uint16_t>(p + 2 * i)); return;
    case TensorDtype::F16: for (size_t i = 0; i < n; ++i) out[i] = fp16_to_fp32(load_le<uint16_t>(p + 2 * i)); return;
    case TensorDtype::F8_E4M3: for (size_t i = 0; i < n; ++i) out[i] = fp8_e4m3_to_fp32(p[i]); return;
    case TensorDtype::F8_E5M2: for (size_t i = 0; i < n; ++i) out[i] = fp8_e5m2_to_fp32(p[i]); return;
    case TensorDtype::F8_E8M0: for (size_t i = 0; i < n; ++i) out[i] = fp8_e8m0_to_fp32(p[i]); return;
    case TensorDtype::F64: for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(load_le<double>(p + 8 * i)); return;
    default: return;  // unreachable: checked() refuses non-float dtypes
  }
}

}  // namespace

void SafetensorsCheckpoint::read_f32(const std::string& name, const std::vector<int64_t>& expected_shape, float* out) const {
  const TensorInfo& t = checked(*this, name, expected_shape);
  if (t.numel() == 0) return;  // out may be null for an empty tensor
  convert_to_f32(t.dtype, data(t), out, static_cast<size_t>(t.numel()));
}

void SafetensorsCheckpoint::read_bf16(const std::string& name, const std::vector<int64_t>& expected_shape, uint16_t* out) const {
  const TensorInfo& t = checked(*this, name, expected_shape);
  const uint8_t* p = data(t);
  size_t n = static_cast<size_t>(t.numel());
  if (n == 0) return;  // out may be null for an empty tensor
  if (t.dtype == TensorDtype::BF16) {
    std::memcpy(out, p, n * 2);
    return;
  }
  // Other dtypes go through fp32 in blocks (fp32 holds F16/F8 exactly, F64 is rounded twice).
  constexpr size_t kBlock = 4096;
  float tmp[kBlock];
  size_t eb = tensor_dtype_bytes(t.dtype);
  for (size_t i = 0; i < n; i += kBlock) {
    size_t m = std::min(kBlock, n - i);
    convert_to_f32(t.dtype, p + i * eb, tmp, m);
    fp32_to_bf16(tmp, out + i, m);
  }
}

std::vector<float> SafetensorsCheckpoint::load_f32(const std::string& name, const std::vector<int64_t>& expected_shape) const {
  const TensorInfo& t = checked(*this, name, expected_shape);
  std::vector<float> out(static_cast<size_t>(t.numel()));
  read_f32(name, expected_shape, out.data());
  return out;
}

std::vector<uint16_t> SafetensorsCheckpoint::load_bf16(const std::string& name, const std::vector<int64_t>& expected_shape) const {
  const TensorInfo& t = checked(*this, name, expected_shape);
  std::vector<uint16_t> out(static_cast<size_t>(t.numel()));
  read_bf16(name, expected_shape, out.data());
  return out;
}

// ---------------------------------------------------------------- writing

TensorData tensor_from_f32(const std::string& name, TensorDtype dtype, const std::vector<int64_t>& shape,
                           const std::vector<float>& values) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  if (static_cast<int64_t>(values.size()) != n)
    throw Error("tensor '" + name + "': " + std::to_string(values.size()) + " values for shape " + shape_string(shape) +
                " (" + std::to_string(n) + " elements)");
  TensorData t{name, dtype, shape, {}};
  size_t eb = tensor_dtype_bytes(dtype);
  t.bytes.resize(values.size() * eb);
  uint8_t* p = t.bytes.data();
  for (size_t i = 0; i < values.size(); ++i) {
    float v = values[i];
    switch (dtype) {
      case TensorDtype::F32: std::memcpy(p + 4 * i, &v, 4); break;
      case TensorDtype::F64: { double d = v; std::memcpy(p + 8 * i, &d, 8); break; }
      case TensorDtype::BF16: { uint16_t h = fp32_to_bf16(v); std::memcpy(p + 2 * i, &h, 2); break; }
      case TensorDtype::F16: { uint16_t h = fp32_to_fp16(v); std::memcpy(p + 2 * i, &h, 2); break; }
      case TensorDtype::F8_E4M3: p[i] = fp32_to_fp8_e4m3(v); break;
      case TensorDtype::I32: { int32_t x = static_cast<int32_t>(v); std::memcpy(p + 4 * i, &x, 4); break; }
      case TensorDtype::I64: { int64_t x = static_cast<int64_t>(v); std::memcpy(p + 8 * i, &x, 8); break; }
      default:
        throw Error("tensor '" + name + "': cannot build " + tensor_dtype_name(dtype) + " from fp32 values");
    }
  }
  return t;
}

namespace {

void write_atomic(const std::string& path, const std::string& head, const std::vector<const std::vector<uint8_t>*>& chunks) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  auto fail = [&](const std::string& why) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw Error(path + ": cannot write file (" + why + ")");
  };
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail(std::strerror(errno));
    out.write(head.data(), static_cast<std::streamsize>(head.size()));
    for (const auto* c : chunks) out.write(reinterpret_cast<const char*>(c->data()), static_cast<std::streamsize>(c->size()));
    out.flush();
    if (!out) fail(std::strerror(errno));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) fail(ec.message());
}

}  // namespace

void write_safetensors(const std::string& path, const std::vector<TensorData>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  json h = json::object();
  if (!metadata.empty()) h["__metadata__"] = metadata;
  uint64_t offset = 0;
  std::set<std::string> seen;
  std::vector<const std::vector<uint8_t>*> chunks;
  for (const auto& t : tensors) {
    if (t.name == "__metadata__" || !seen.insert(t.name).second)
      throw Error(path + ": tensor name '" + t.name + "' is reserved or given twice");
    uint64_t n = 1;
    for (int64_t d : t.shape) {
      if (d < 0) throw Error(path + ": tensor '" + t.name + "' has a negative dimension in " + shape_string(t.shape));
      n *= static_cast<uint64_t>(d);
    }
    const uint64_t bits = n * tensor_dtype_bits(t.dtype);
    if (bits % 8 != 0 || bits / 8 != t.bytes.size())
      throw Error(path + ": tensor '" + t.name + "' has " + std::to_string(t.bytes.size()) + " bytes, expected " +
                  std::to_string(bits / 8) + (bits % 8 ? " and a bit" : "") + " for " + tensor_dtype_name(t.dtype) + " " +
                  shape_string(t.shape));
    h[t.name] = {{"dtype", tensor_dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
    chunks.push_back(&t.bytes);
  }
  std::string header = h.dump();
  while (header.size() % 8 != 0) header += ' ';
  std::string head(8, '\0');
  uint64_t len = header.size();
  for (int i = 0; i < 8; ++i) head[i] = static_cast<char>((len >> (8 * i)) & 0xff);
  write_atomic(path, head + header, chunks);
}

void write_safetensors_index(const std::string& index_path, const std::map<std::string, std::string>& weight_map,
                             uint64_t total_size_bytes) {
  json j = {{"metadata", {{"total_size", total_size_bytes}}}, {"weight_map", weight_map}};
  write_atomic(index_path, j.dump(2) + "\n", {});
}

}  // namespace llmcost

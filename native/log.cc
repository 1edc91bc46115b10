// Captures llama.cpp/ggml log output: errors and warnings are kept per thread so that a failed call can
// report why; everything is printed to stderr only in verbose mode (MOODAXIS_VERBOSE=1).
#include <cstdio>
#include <atomic>
#include <cstring>
#include <deque>
#include <mutex>

#include "common.h"

namespace moodaxis {
namespace {
std::atomic<bool> g_verbose{false};
thread_local std::deque<std::string> t_errors;

void onLog(enum ggml_log_level level, const char* text, void*) {
  if (g_verbose.load()) fputs(text, stderr);
  if (level != GGML_LOG_LEVEL_ERROR && level != GGML_LOG_LEVEL_WARN) return;
  std::string line(text);
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
  if (line.empty()) return;
  t_errors.push_back(line);
  while (t_errors.size() > 6) t_errors.pop_front();
}
}  // namespace

void installLogger() { llama_log_set(onLog, nullptr); }
void setLogVerbose(bool verbose) { g_verbose.store(verbose); }

std::string takeLastLlamaErrors() {
  std::string out;
  for (const auto& line : t_errors) {
    if (!out.empty()) out += "; ";
    out += line;
  }
  t_errors.clear();
  return out;
}

}  // namespace moodaxis

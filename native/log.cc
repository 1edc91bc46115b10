// Captures llama.cpp/ggml log output: errors and warnings are kept per thread so that a failed call can
// report why; everything is printed to stderr only in verbose mode (MOODAXIS_VERBOSE=1). The last lines
// of any level are also kept process-wide: when ggml aborts the process (a CUDA error, say), they are
// printed to stderr before it dies, so that the cause is never lost.
#include <cstdio>
#include <cstdlib>
#include <atomic>
#include <cstring>
#include <deque>
#include <mutex>

#include "common.h"

namespace moodaxis {
namespace {
std::atomic<bool> g_verbose{false};
thread_local std::deque<std::string> t_errors;
std::mutex g_recent_mutex;
std::deque<std::string> g_recent;  // the last lines of any level, for an abort
constexpr size_t kRecentLines = 12;

void keepRecent(const char* text) {
  std::lock_guard<std::mutex> lock(g_recent_mutex);
  if (!g_recent.empty() && !g_recent.back().empty() && g_recent.back().back() != '\n') {
    g_recent.back() += text;  // llama.cpp logs some lines in pieces
  } else {
    g_recent.emplace_back(text);
  }
  while (g_recent.size() > kRecentLines) g_recent.pop_front();
}

void onAbort(const char* message) {
  if (!g_verbose.load()) {
    std::lock_guard<std::mutex> lock(g_recent_mutex);
    fputs("moodaxis: llama.cpp's last log lines before it aborted:\n", stderr);
    for (const auto& line : g_recent) {
      fputs("  ", stderr);
      fputs(line.c_str(), stderr);
      if (line.empty() || line.back() != '\n') fputc('\n', stderr);
    }
  }
  fprintf(stderr, "moodaxis: llama.cpp aborted the process: %s\n", message ? message : "(no message)");
  fflush(stderr);
}

void onLog(enum ggml_log_level level, const char* text, void*) {
  if (g_verbose.load()) fputs(text, stderr);
  if (text) keepRecent(text);
  if (level != GGML_LOG_LEVEL_ERROR && level != GGML_LOG_LEVEL_WARN) return;
  std::string line(text);
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
  if (line.empty()) return;
  t_errors.push_back(line);
  while (t_errors.size() > 6) t_errors.pop_front();
}
}  // namespace

void installLogger() {
  llama_log_set(onLog, nullptr);
  ggml_set_abort_callback(onAbort);
}
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

bool tracePrefill() {
  const char* trace = std::getenv("MOODAXIS_TRACE_PREFILL");
  return trace && std::strcmp(trace, "1") == 0;
}

}  // namespace moodaxis

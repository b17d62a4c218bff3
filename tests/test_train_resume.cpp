// Checkpoints and resume: a run split in two ends with the very same weights as an unbroken one;
// a killed run leaves only whole checkpoints, and resuming from them finishes the run; a resume
// with other settings is refused; a full disk fails the run cleanly and leaves the earlier
// checkpoints whole. Not the maths of a step (test_train_parity.cpp).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "test_util.h"

namespace embtune {
namespace {

namespace fs = std::filesystem;
using test::run_command;
using test::sh_quote;

class TrainResume : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* words[] = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu"};
    ASSERT_EQ(test::make_tiny_word_model(tmp_.file("base"), std::vector<std::string>(words, words + 12)), "");
    std::string data;
    for (int i = 0; i < 14; i++) {
      std::string a = std::string(words[i % 12]) + " " + words[(i * 5 + 1) % 12];
      std::string p = std::string(words[(i * 7 + 3) % 12]) + " " + words[(i + 4) % 12] + " " + words[i % 12] + " " + std::to_string(i);
      data += nlohmann::json({{"anchor", a + " " + std::to_string(i)}, {"positive", p}}).dump() + "\n";
    }
    test::write_text(tmp_.file("train.jsonl"), data);
  }
  std::string train(const std::string& out, const std::string& extra) {
    return bin_ + " train --model " + sh_quote(tmp_.file("base")) + " --train " + sh_quote(tmp_.file("train.jsonl")) +
           " --out " + sh_quote(out) + " --batch-size 4 --quiet " + extra;
  }
  test::TempDir tmp_;
  std::string bin_ = sh_quote(test::embtune_bin());
};

TEST_F(TrainResume, TheBestWeightsSurviveAResume) {
  // Evaluations at steps 0, 3, 6, 9, …; the checkpoint at 10: whichever evaluation was best when
  // the run stopped, its weights are not the checkpoint's and must come back from best-N.
  const std::string flags = "--max-steps 20 --lr 2e-3 --seed 3 --allow-leakage --eval " + sh_quote(tmp_.file("train.jsonl")) +
                            " --eval-steps 3 --load-best-model-at-end --metric-for-best eval_mrr@10";
  auto r = run_command(train(tmp_.file("whole"), flags));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = run_command(train(tmp_.file("split"), flags + " --save-steps 5 --stop-after 10"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  int best_dirs = 0;
  for (auto& e : fs::directory_iterator(tmp_.file("split.checkpoints")))
    best_dirs += e.path().filename().string().rfind("best-", 0) == 0;
  EXPECT_GE(best_dirs, 1) << "the best weights are on disk before the run stops";
  r = run_command(train(tmp_.file("split"), flags + " --save-steps 5 --resume"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(test::read_text(tmp_.file("whole/model.safetensors")), test::read_text(tmp_.file("split/model.safetensors")));
  EXPECT_EQ(test::read_text(tmp_.file("whole/eval_log.jsonl")), test::read_text(tmp_.file("split/eval_log.jsonl")));
}

TEST_F(TrainResume, SplitRunEqualsUnbrokenRunBitForBit) {
  // Shuffled, warmup and decay, so that the RNG, the schedule and the moments must all resume.
  const std::string flags = "--max-steps 20 --warmup 3 --scheduler linear --weight-decay 0.01 --seed 7";
  auto r = run_command(train(tmp_.file("whole"), flags));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = run_command(train(tmp_.file("split"), flags + " --save-steps 4 --stop-after 10"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_FALSE(fs::exists(tmp_.file("split"))) << "a stopped run must not write the model";
  EXPECT_TRUE(fs::exists(tmp_.file("split.checkpoints/checkpoint-10/optimizer.safetensors")));
  r = run_command(train(tmp_.file("split"), flags + " --save-steps 4 --resume"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(test::read_text(tmp_.file("whole/model.safetensors")), test::read_text(tmp_.file("split/model.safetensors")));
  // The log is whole too: the same 20 losses, in order.
  auto losses = [](const std::string& log) {
    std::vector<double> v;
    for (size_t pos = 0; pos < log.size();) {
      size_t nl = log.find('\n', pos);
      v.push_back(nlohmann::json::parse(log.substr(pos, nl - pos))["loss"].get<double>());
      pos = nl + 1;
    }
    return v;
  };
  auto a = losses(test::read_text(tmp_.file("whole/training_log.jsonl")));
  auto b = losses(test::read_text(tmp_.file("split/training_log.jsonl")));
  EXPECT_EQ(a.size(), 20u);
  EXPECT_EQ(a, b);
}

TEST_F(TrainResume, ResumeWithOtherSettingsIsRefused) {
  auto r = run_command(train(tmp_.file("m"), "--max-steps 8 --stop-after 4"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = run_command(train(tmp_.file("m"), "--max-steps 8 --resume --lr 1e-3"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("cannot resume"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("lr"), std::string::npos) << r.out;
  r = run_command(train(tmp_.file("none"), "--max-steps 8 --resume"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("no checkpoint"), std::string::npos) << r.out;
}

TEST_F(TrainResume, KilledRunLeavesWholeCheckpointsAndResumes) {
  const std::string out = tmp_.file("k");
  // Checkpoint every step and kill -9 at some point after the third one: whatever was being
  // written then, every checkpoint directory present must be complete.
  const std::string script = train(out, "--max-steps 1000 --save-steps 1") + " & pid=$!; i=0; while [ ! -d " +
                             sh_quote(out + ".checkpoints/checkpoint-3") + " ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; "
                             "sleep 0.37; kill -9 $pid; wait $pid; echo killed";
  auto r = run_command(script);
  ASSERT_NE(r.out.find("killed"), std::string::npos) << r.out;
  int whole = 0;
  for (auto& e : fs::directory_iterator(out + ".checkpoints")) {
    const std::string name = e.path().filename().string();
    if (name.find(".tmp") != std::string::npos) continue;  // the interrupted write, never renamed
    nlohmann::json state;
    ASSERT_NO_THROW(state = nlohmann::json::parse(test::read_text(e.path() / "trainer_state.json"))) << name;
    EXPECT_EQ("checkpoint-" + std::to_string(state["step"].get<int>()), name);
    SafetensorsFile w, o;
    EXPECT_TRUE(w.open((e.path() / "model.safetensors").string()).ok()) << name;
    EXPECT_TRUE(o.open((e.path() / "optimizer.safetensors").string()).ok()) << name;
    whole++;
  }
  EXPECT_GE(whole, 3);
  EXPECT_FALSE(fs::exists(out));
  // Resuming finishes the run (a shorter one would be refused: the step count is part of it).
  r = run_command(train(out, "--max-steps 1000 --save-steps 1000 --resume"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(fs::exists(out + "/model.safetensors"));
}

TEST_F(TrainResume, InterruptWritesACheckpointAndResumesExactly) {
  // SIGTERM (or Ctrl-C's SIGINT in a terminal) mid-run: the step in flight finishes, a
  // checkpoint is written, the temporary output is removed, and the run resumes to the unbroken
  // run's bytes.
  const std::string flags = "--max-steps 500 --seed 4";
  const std::string out = tmp_.file("int");
  auto r = run_command(train(out, flags) + " & pid=$!; i=0; while ! ls -d " + sh_quote(out) +
                       ".tmp-* >/dev/null 2>&1 && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; sleep 0.2; "
                       "kill -TERM $pid; wait $pid; echo \"rc=$?\"");
  ASSERT_NE(r.out.find("interrupted after step"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rc=1"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(out));
  for (auto& e : fs::directory_iterator(tmp_.path()))
    EXPECT_EQ(e.path().filename().string().find("int.tmp"), std::string::npos) << e.path();
  r = run_command(train(out, flags + " --resume"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = run_command(train(tmp_.file("unbroken"), flags));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(test::read_text(out + "/model.safetensors"), test::read_text(tmp_.file("unbroken/model.safetensors")));
}

TEST_F(TrainResume, FullDiskFailsCleanlyAndTheCheckpointsResume) {
  // A tmpfs in a private mount namespace sized for the run's files and three and a half
  // checkpoints: the fourth checkpoint's write meets ENOSPC.
  if (run_command("unshare -rm true").exit_code != 0) GTEST_SKIP() << "no user and mount namespaces here";
  const std::string disk = tmp_.file("disk"), saved = tmp_.file("saved");
  fs::create_directories(disk);
  const std::string flags = "--max-steps 8 --seed 3";
  auto r = run_command(train(tmp_.file("whole"), flags + " --save-steps 1"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto bytes = [](const std::string& dir) {
    uintmax_t n = 0;
    for (auto& e : fs::recursive_directory_iterator(dir))
      if (e.is_regular_file()) n += e.file_size();
    return n;
  };
  const uintmax_t size_kb = (bytes(tmp_.file("whole")) + bytes(tmp_.file("whole.checkpoints/checkpoint-1")) * 7 / 2) / 1024;
  r = run_command("unshare -rm sh -c " +
                  sh_quote("mount -t tmpfs -o size=" + std::to_string(size_kb) + "k tmpfs " + sh_quote(disk) + " || exit 99; " +
                           train(disk + "/run", flags + " --save-steps 1") + "; echo \"rc=$?\"; echo listing:; ls -a " +
                           sh_quote(disk) + " " + sh_quote(disk + "/run.checkpoints") + "; cp -r " +
                           sh_quote(disk + "/run.checkpoints") + " " + sh_quote(saved)));
  if (r.out.find("rc=") == std::string::npos) GTEST_SKIP() << "cannot mount a tmpfs here: " << r.out;
  EXPECT_EQ(r.out.find("rc=0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("No space left"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("earlier checkpoints are whole"), std::string::npos) << r.out;
  ASSERT_NE(r.out.find("listing:"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(".tmp", r.out.find("listing:")), std::string::npos) << "nothing half-written is left behind: " << r.out;
  int whole = 0;
  for (auto& e : fs::directory_iterator(saved)) {
    nlohmann::json state = nlohmann::json::parse(test::read_text(e.path() / "trainer_state.json"));
    EXPECT_EQ("checkpoint-" + std::to_string(state["step"].get<int>()), e.path().filename().string());
    SafetensorsFile w, o;
    EXPECT_TRUE(w.open((e.path() / "model.safetensors").string()).ok());
    EXPECT_TRUE(o.open((e.path() / "optimizer.safetensors").string()).ok());
    whole++;
  }
  EXPECT_GE(whole, 2);
  EXPECT_LT(whole, 8);
  // With room again, the run resumes from the newest checkpoint to the unbroken run's weights.
  fs::rename(saved, tmp_.file("resumed.checkpoints"));
  r = run_command(train(tmp_.file("resumed"), flags + " --resume"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(test::read_text(tmp_.file("whole/model.safetensors")), test::read_text(tmp_.file("resumed/model.safetensors")));
}

}  // namespace
}  // namespace embtune

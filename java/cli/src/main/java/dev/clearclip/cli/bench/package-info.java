/**
 * {@code clearclip bench}: latency and memory of the engine per model file and thread count.
 * {@link BenchCommand} plans and runs the measurements; {@link BenchProcess} runs each one in a child JVM
 * (so that a peak RSS belongs to one model) and reads the facts of the process and machine;
 * {@link SharedModelBench} measures N threads sharing one model; {@link BenchReport} writes the markdown
 * table and the chart.
 *
 * <p>A package of its own because measuring is not using: child processes, the launcher, /proc and the
 * report formats concern no other command. Besides {@link BenchCommand} (for {@code Main}'s list of
 * commands), {@link BenchProcess#writePeakRssIfAsked()} is public: {@code Main.main} calls it as the
 * measured process exits, which is how that process reports its own peak RSS.
 */
package dev.clearclip.cli.bench;

/**
 * {@code clearclip eval}: mIoU of a model on a segmentation benchmark (core's {@code dev.clearclip.eval}
 * reads the datasets and counts). {@link EvalCommand} runs the evaluation and keeps its saved progress;
 * {@link EvalReport} prints the tables and writes the results JSON.
 *
 * <p>A package of its own, not one with {@code segment}, because it shares nothing with the other
 * commands but the root package's parts ({@code ModelCommand}, {@code SegmentationJson} for the settings
 * in its JSON, the progress bar). Only {@link EvalCommand} is public, for {@code Main}'s list of commands.
 */
package dev.clearclip.cli.eval;

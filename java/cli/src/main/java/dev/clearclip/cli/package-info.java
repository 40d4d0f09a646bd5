/**
 * The {@code clearclip} command line: {@link Main} (the root command, its global options and the list of
 * commands) and what the commands of more than one sub-package share: {@link ModelCommand} (-m, the
 * default model, the text cache, opening a model with the global options) and {@link ModelStore} (where
 * pulled models live, which one is the default), {@link EngineOptions} (--threads and --backend after a
 * command's name), {@link ErrorHandler} and {@link UsageException} (one line and exit code 1 or 2),
 * {@link Json}, {@link SegmentationJson} (the part of a segmentation's JSON that {@code segment} and
 * {@code serve} both write), {@link ProgressBar} and {@link ConversionProgress}, {@link OutputTypes}
 * ({@code --type} of convert, quantize and pull); and what only {@code main} needs: {@link NativeLogs},
 * {@link Utf8Arguments}.
 *
 * <p>The commands live in sub-packages: {@code commands} (convert, quantize, info, tokenize, embed,
 * features, segment, classify), {@code serve}, {@code pull}, {@code bench}, {@code eval}. They depend on
 * this package and not on one another; this package depends on them only through {@link Main}'s list of
 * commands (which picocli needs as classes) and {@code Main.main}'s call of bench's peak-RSS hook. The
 * shared parts are public for that reason alone.
 */
package dev.clearclip.cli;

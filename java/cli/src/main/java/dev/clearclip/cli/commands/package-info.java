/**
 * The commands that run once over files and exit: {@link ConvertCommand} and {@link QuantizeCommand}
 * (write a GGUF), {@link InfoCommand}, {@link TokenizeCommand}, {@link EmbedCommand},
 * {@link FeaturesCommand} (with {@link Npy}), {@link SegmentCommand} and {@link ClassifyCommand}, with what
 * only they use: {@link ImageInputs} (files, folders and globs of {@code --image}), {@link ClassOptions},
 * and segment's {@link WriteBehind} (outputs written while the engine works on the next picture) and
 * {@link StopOnSignal} (Ctrl-C stops the engine before the JVM exits).
 *
 * <p>Apart from the root package's {@code Main} and the shared parts because those are what every command
 * needs, and apart from serve, pull, bench and eval because those each bring machinery of their own. The
 * commands are public for {@code Main}'s list of commands; their helpers stay package-private.
 */
package dev.clearclip.cli.commands;

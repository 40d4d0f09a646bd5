/**
 * {@code clearclip serve}: one model behind an HTTP API and a web page. {@link ServeCommand} parses and
 * checks the options; {@link ClearClipServer} wires Javalin (Jetty) and runs the lifecycle (start, drain,
 * stop); {@link AccessGuard} (API key, CORS, Host and Origin), {@link UploadGate} with {@link UploadBody}
 * and {@link FormParts} (the whole body read and bounded before any handler) and
 * {@link ClientConnectionLimit} stand in front of the handlers; {@link Inference} admits requests
 * (queue, decode permits, model contexts, deadlines, cancel on disconnect through {@link ClientLink},
 * {@link StopReason}); {@link InferenceEndpoints} and {@link OpenAiEmbeddings} answer, reading their
 * fields through {@link RequestReader}; {@link ApiErrors} and {@link ApiException} word the refusals;
 * {@link ServeLimits} sizes the pixel limit to the heap; {@link ServerMetrics} counts. The page is the
 * resource {@code index.html} beside these classes.
 *
 * <p>A package of its own because the server is a program of its own (threads, sockets, limits) that
 * the other commands never touch. It stands on the root package's shared parts (the JSON mapper,
 * {@code SegmentationJson} so that its answers equal {@code segment}'s files, {@code ModelCommand},
 * {@code ErrorHandler}'s wording); only {@link ServeCommand} is public, for {@code Main}'s list of
 * commands.
 */
package dev.clearclip.cli.serve;

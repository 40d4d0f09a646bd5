package dev.clearclip.bindings;

/**
 * Root of every exception clearclip throws on purpose, in any module, so that one
 * {@code catch (ClearClipBaseException e)} covers them all. It lives here, in the lowest layer,
 * because the GGUF tools and the Java library both stand on the bindings; each layer keeps its own
 * specific subclasses:
 *
 * <pre>
 * ClearClipBaseException                      (bindings)
 * +-- NativeLibraryException                  (bindings: native libraries not found / not loadable,
 * |                                            or an engine of another ABI)
 * +-- NativeCallException                     (bindings: an engine call refused, with its status;
 * |                                            NativeQuantization)
 * +-- dev.clearclip.gguf.ModelFileException   (gguf-tools: reading, writing, converting model files)
 * |   +-- GgufFormatException, SafetensorsFormatException, ConversionException, QuantizationException
 * +-- dev.clearclip.ClearClipException        (java/core: loading models, running the engine)
 *     +-- ModelLoadException, ImageReadException, InvalidTextException, InferenceException
 *     |   +-- AbortedException
 *     +-- eval.DatasetException, eval.EvalStateException
 * </pre>
 *
 * Unchecked, like all of them: the messages name the file or argument and say what is wrong, so a
 * front end can print them as they are. Programming errors (a null argument, an illegal option
 * value) stay {@link IllegalArgumentException} / {@link NullPointerException}, as in the JDK.
 */
public class ClearClipBaseException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ClearClipBaseException(String message) {
        super(message);
    }

    public ClearClipBaseException(String message, Throwable cause) {
        super(message, cause);
    }
}

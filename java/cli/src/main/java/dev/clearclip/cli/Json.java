package dev.clearclip.cli;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

/** The JSON mapper of the CLI's outputs. */
public final class Json {

    public static final ObjectMapper MAPPER = new ObjectMapper()
            .disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET)
            .enable(SerializationFeature.INDENT_OUTPUT);

    /** Compact output, for one-line results such as token arrays. */
    public static final ObjectMapper COMPACT = new ObjectMapper().disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);

    private Json() {
    }
}

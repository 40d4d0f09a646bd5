package dev.clearclip.bindings;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clearclip.bindings.ffi.ClearClipNative;
import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The committed bindings cover the public header: a function or constant added to clearclip.h
 * without rerunning bindings/regenerate.sh fails here. Only reflection is used, so the native
 * library is not loaded.
 */
class HeaderCoverageTest {
    private static final Pattern API_FUNCTION =
            Pattern.compile("CLEARCLIP_API\\b[^;{}()]*?\\b(clearclip_\\w+)\\s*\\(");
    private static final Pattern ENUM_CONSTANT = Pattern.compile("\\b(CLEARCLIP_[A-Z0-9_]+)\\s*=");
    private static final Pattern STRUCT_WITH_BODY =
            Pattern.compile("typedef\\s+struct\\s+(clearclip_\\w+)\\s*\\{");

    private static String header;
    private static Set<String> publicStaticMethods;

    @BeforeAll
    static void readHeader() throws IOException {
        header = stripComments(Files.readString(headerPath()));
        publicStaticMethods = Arrays.stream(ClearClipNative.class.getMethods())
                .filter(m -> Modifier.isStatic(m.getModifiers()))
                .map(Method::getName)
                .collect(Collectors.toSet());
    }

    static Path headerPath() {
        String explicit = System.getProperty("clearclip.header");
        if (explicit != null) {
            return Path.of(explicit);
        }
        String root = System.getProperty("clearclip.repo.root", "..");
        return Path.of(root, "native", "include", "clearclip.h");
    }

    private static String stripComments(String c) {
        return c.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\\n]*", " ");
    }

    private static Set<String> matches(Pattern pattern) {
        Set<String> names = new LinkedHashSet<>();
        Matcher m = pattern.matcher(header);
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }

    @Test
    void everyApiFunctionHasABinding() {
        Set<String> functions = matches(API_FUNCTION);
        // The header declares well over twenty functions; a parse that finds few is broken.
        assertThat(functions).hasSizeGreaterThan(20).contains("clearclip_model_load", "clearclip_segment");
        assertThat(functions).allSatisfy(name -> assertThat(publicStaticMethods)
                .as("ClearClipNative method for %s (rerun bindings/regenerate.sh)", name)
                .contains(name));
    }

    @Test
    void everyEnumConstantHasABinding() {
        Set<String> constants = matches(ENUM_CONSTANT);
        assertThat(constants).contains("CLEARCLIP_OK", "CLEARCLIP_ERR_IO", "CLEARCLIP_MODE_CLEARCLIP");
        assertThat(constants).allSatisfy(name -> assertThat(publicStaticMethods)
                .as("ClearClipNative constant for %s (rerun bindings/regenerate.sh)", name)
                .contains(name));
    }

    @Test
    void everyStructHasALayoutClass() {
        Set<String> structs = matches(STRUCT_WITH_BODY);
        assertThat(structs).contains("clearclip_model_params", "clearclip_segment_params");
        assertThat(structs).allSatisfy(name -> assertThat(
                ClearClipNative.class.getClassLoader().getResource(
                        "dev/clearclip/bindings/ffi/" + name + ".class"))
                .as("generated class dev.clearclip.bindings.ffi.%s (rerun bindings/regenerate.sh)", name)
                .isNotNull());
    }
}

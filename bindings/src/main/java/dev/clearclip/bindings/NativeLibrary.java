package dev.clearclip.bindings;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The one place that loads the clearclip engine ({@code libclearclip}) and the ggml libraries it
 * links. The generated bindings ({@link dev.clearclip.bindings.ffi.ClearClipNative}) resolve their
 * symbols through {@link #symbolLookup()}, so the first native call loads everything.
 *
 * <p>Where the libraries come from, first match wins:
 * <ol>
 *   <li>system property {@value #LIBRARY_PATH_PROPERTY}: a directory holding libclearclip and the
 *       ggml libraries, or the path of libclearclip itself;</li>
 *   <li>environment variable {@value #LIBRARY_PATH_ENV}, same meaning;</li>
 *   <li>the jar resources {@code dev/clearclip/native/<os>-<arch>/} (module clearclip-native),
 *       extracted once into a private directory under {@code java.io.tmpdir} named by a hash of
 *       their content, so JVMs running side by side share it safely and a new build never reuses
 *       stale files. One jar may carry several platforms ({@code linux-x86_64},
 *       {@code linux-aarch64}); {@value #PLATFORMS_INDEX} lists them, so a JVM on another
 *       platform is told which ones the jar supports.</li>
 * </ol>
 * Libraries are loaded with {@link System#load} in dependency order (ggml before clearclip), so
 * loading works whether or not the files carry an {@code $ORIGIN} run path: the dynamic linker
 * matches the dependencies of libclearclip against the already loaded libraries by SONAME.
 *
 * <p>ggml's backend modules ({@value #BACKENDS_INDEX}: one {@code libggml-cpu-<variant>} per
 * x86-64 CPU generation) are extracted into the same directory but never loaded here: the engine
 * asks ggml to score them against this CPU and dlopen the best one, by their exact file names,
 * from the directory of the ggml library in use.
 *
 * <p>Once loaded, the engine's {@code clearclip_abi_version()} must equal {@link #ABI_VERSION}, the
 * {@code CLEARCLIP_ABI_VERSION} of the header the bindings were generated from: an engine of another
 * build would be called with struct layouts it does not have, so it is refused before any call.
 */
public final class NativeLibrary {
    public static final String LIBRARY_PATH_PROPERTY = "clearclip.library.path";
    public static final String LIBRARY_PATH_ENV = "CLEARCLIP_LIBRARY_PATH";
    /**
     * {@code CLEARCLIP_ABI_VERSION} of the header the generated bindings come from. Kept here, not
     * read from the generated class, because touching that class would load the libraries before they
     * are checked; {@code AbiVersionTest} keeps it equal to the header's and the generated constant.
     */
    public static final int ABI_VERSION = 2;

    static final String RESOURCE_ROOT = "dev/clearclip/native/";
    /** File names in load order, one a line, written by native/package-natives.sh. */
    static final String INDEX_NAME = "natives.list";
    /** Platform directories present under {@link #RESOURCE_ROOT}, one a line (package-natives.sh). */
    static final String PLATFORMS_INDEX = "platforms.list";
    /** ggml backend modules to extract beside the libraries but not load, one a line (package-natives.sh). */
    static final String BACKENDS_INDEX = "backends.list";
    /** File name of the engine on this OS ({@code libclearclip.so}, {@code libclearclip.dylib}, ...). */
    static final String ENGINE_LIBRARY = System.mapLibraryName("clearclip");
    /** Load order in a directory without an index: the ggml libraries present, then the engine. */
    private static final List<String> DIRECTORY_LOAD_ORDER = List.of(
            System.mapLibraryName("ggml-base"), System.mapLibraryName("ggml-cpu"),
            System.mapLibraryName("ggml"), ENGINE_LIBRARY);

    private static final String HINT_DIRECTORY = ". The directory must also hold the ggml libraries"
            + " (or contain " + INDEX_NAME + "), like native/target/classes/" + RESOURCE_ROOT + "<os>-<arch>/"
            + " after a build";

    private static List<Path> loaded;
    private static String origin;

    private NativeLibrary() {
    }

    /**
     * Loads the native libraries if this has not happened yet.
     *
     * @throws NativeLibraryException if they cannot be found or loaded; the message says where
     *                                they were looked for
     */
    public static synchronized void load() {
        if (loaded != null) {
            return;
        }
        String override = System.getProperty(LIBRARY_PATH_PROPERTY);
        String overrideSource = "system property " + LIBRARY_PATH_PROPERTY;
        if (override == null || override.isBlank()) {
            override = System.getenv(LIBRARY_PATH_ENV);
            overrideSource = "environment variable " + LIBRARY_PATH_ENV;
        }
        boolean overridden = override != null && !override.isBlank();
        List<Path> files;
        String from;
        if (overridden) {
            from = overrideSource + "=" + override;
            files = librariesInDirectory(Path.of(override), from);
        } else {
            String platform = platform();
            from = "jar resources " + RESOURCE_ROOT + platform;
            files = extractFromJar(NativeLibrary.class.getClassLoader(), platform);
        }
        for (Path file : files) {
            try {
                System.load(file.toString());
            } catch (UnsatisfiedLinkError e) {
                throw new NativeLibraryException("cannot load " + file + " (from " + from + "): "
                        + e.getMessage() + (overridden ? HINT_DIRECTORY : ""), e);
            }
        }
        checkAbi(files.getLast(), from);
        loaded = List.copyOf(files);
        origin = from;
    }

    /**
     * Refuses an engine whose ABI differs from the bindings'. Runs on every {@link #load()} until one
     * succeeds, so a refused engine stays refused (the JVM cannot unload it).
     */
    private static void checkAbi(Path engine, String from) {
        MemorySegment function = SymbolLookup.loaderLookup().find("clearclip_abi_version")
                .orElseThrow(() -> new NativeLibraryException(engine + " (from " + from
                        + ") has no clearclip_abi_version(): it is an engine older than these bindings (ABI "
                        + ABI_VERSION + "); use the engine built with this jar"));
        int found;
        try {
            found = (int) Linker.nativeLinker()
                    .downcallHandle(function, FunctionDescriptor.of(ValueLayout.JAVA_INT))
                    .invokeExact();
        } catch (Throwable e) {
            throw new NativeLibraryException("cannot call clearclip_abi_version() of " + engine + ": " + e, e);
        }
        if (found != ABI_VERSION) {
            throw new NativeLibraryException(engine + " (from " + from + ") has engine ABI " + found
                    + " but these bindings need ABI " + ABI_VERSION + ": the engine comes from another build"
                    + " of clearclip; use the engine built with this jar (or rebuild both)");
        }
    }

    /**
     * Symbols of the loaded libraries, for the generated bindings. Loads them first.
     */
    public static SymbolLookup symbolLookup() {
        load();
        // loaderLookup() sees the libraries System.load registered with this class's loader.
        return SymbolLookup.loaderLookup();
    }

    /** The library files loaded, in load order. Loads them first. */
    public static synchronized List<Path> loadedLibraries() {
        load();
        return loaded;
    }

    /**
     * The directory of the loaded engine, which also holds ggml's backend modules when they were
     * extracted from the jar. Loads the libraries first.
     */
    public static synchronized Path directory() {
        load();
        return loaded.getLast().getParent();
    }

    /** Where the loaded libraries came from (property, environment or jar). Loads them first. */
    public static synchronized String origin() {
        load();
        return origin;
    }

    /**
     * Platform directory name of the native resources for this JVM, e.g. {@code linux-x86_64}.
     */
    public static String platform() {
        return platform(System.getProperty("os.name"), System.getProperty("os.arch"));
    }

    static String platform(String osName, String osArch) {
        String name = osName.toLowerCase(Locale.ROOT);
        String os;
        if (name.startsWith("linux")) {
            os = "linux";
        } else if (name.startsWith("mac") || name.startsWith("darwin")) {
            os = "macos";
        } else if (name.startsWith("windows")) {
            os = "windows";
        } else {
            os = name.replaceAll("[^a-z0-9]", "");
        }
        String arch = switch (osArch.toLowerCase(Locale.ROOT)) {
            case "amd64", "x86_64", "x86-64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> osArch.toLowerCase(Locale.ROOT);
        };
        return os + "-" + arch;
    }

    static List<Path> librariesInDirectory(Path location, String from) {
        Path dir;
        if (Files.isRegularFile(location)) {
            dir = location.toAbsolutePath().getParent();
        } else if (Files.isDirectory(location)) {
            dir = location.toAbsolutePath();
        } else {
            throw new NativeLibraryException(from + ": no such file or directory");
        }
        Path index = dir.resolve(INDEX_NAME);
        List<Path> files = new ArrayList<>();
        if (Files.isRegularFile(index)) {
            for (String name : readIndex(index, from)) {
                Path file = dir.resolve(name);
                if (!Files.isRegularFile(file)) {
                    throw new NativeLibraryException(from + ": " + INDEX_NAME + " lists " + name
                            + " but " + file + " does not exist");
                }
                files.add(file);
            }
        } else {
            for (String name : DIRECTORY_LOAD_ORDER) {
                Path file = dir.resolve(name);
                if (Files.exists(file)) {
                    files.add(file);
                }
            }
            if (Files.isRegularFile(location) && !files.contains(location.toAbsolutePath())) {
                files.removeIf(f -> f.getFileName().toString().equals(ENGINE_LIBRARY));
                files.add(location.toAbsolutePath());
            }
        }
        boolean hasEngine = files.stream()
                .anyMatch(f -> f.getFileName().toString().startsWith(ENGINE_LIBRARY));
        if (!hasEngine) {
            throw new NativeLibraryException(from + ": " + ENGINE_LIBRARY + " not found in " + dir);
        }
        return files;
    }

    private static List<String> readIndex(Path index, String from) {
        try {
            return parseIndex(Files.readString(index, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new NativeLibraryException(from + ": cannot read " + index, e);
        }
    }

    static List<String> parseIndex(String text) {
        return text.lines().map(String::strip).filter(line -> !line.isEmpty()).toList();
    }

    static List<Path> extractFromJar(ClassLoader loader, String platform) {
        String base = RESOURCE_ROOT + platform + "/";
        byte[] indexBytes = readResource(loader, base + INDEX_NAME);
        if (indexBytes == null) {
            throw new NativeLibraryException(missingPlatformMessage(loader, platform));
        }
        // Names, sizes and digests only: the libraries (about 17 MB with ggml's CPU variants) are
        // streamed, never held in the heap, which would otherwise grow by twice that on every start
        // (issue 9: the CLI's peak RSS).
        Map<String, Library> contents = new LinkedHashMap<>();
        MessageDigest all = sha256();
        List<String> toLoad = parseIndex(new String(indexBytes, StandardCharsets.UTF_8));
        readListed(loader, base, INDEX_NAME, toLoad, contents, all);
        if (contents.isEmpty()) {
            throw new NativeLibraryException(base + INDEX_NAME + " lists no library");
        }
        // Absent from jars whose ggml links its CPU backend in (no run-time variants).
        byte[] backendIndex = readResource(loader, base + BACKENDS_INDEX);
        if (backendIndex != null) {
            List<String> backends = parseIndex(new String(backendIndex, StandardCharsets.UTF_8));
            readListed(loader, base, BACKENDS_INDEX, backends, contents, all);
        }
        Path dir = extractionDirectory(loader, contents, HexFormat.of().formatHex(all.digest(), 0, 12));
        return toLoad.stream().map(dir::resolve).toList();
    }

    /** One library of the jar: its resource, size and SHA-256. */
    private record Library(String resource, long size, byte[] sha256) {
    }

    /**
     * Adds each listed library's size and digest to {@code contents}; {@code all} digests the names
     * and bytes of all of them in order (the extraction directory's name).
     */
    private static void readListed(ClassLoader loader, String base, String index, List<String> names,
                                   Map<String, Library> contents, MessageDigest all) {
        for (String name : names) {
            if (name.contains("/") || name.contains("\\") || name.startsWith(".")) {
                throw new NativeLibraryException("bad library name in " + base + index + ": " + name);
            }
            try (InputStream in = loader.getResourceAsStream(base + name)) {
                if (in == null) {
                    throw new NativeLibraryException(base + index + " lists " + name
                            + " but the resource " + base + name + " is missing");
                }
                all.update(name.getBytes(StandardCharsets.UTF_8));
                all.update((byte) 0);
                MessageDigest one = sha256();
                long size = digest(in, one, all);
                contents.put(name, new Library(base + name, size, one.digest()));
            } catch (IOException e) {
                throw new NativeLibraryException("cannot read resource " + base + name, e);
            }
        }
    }

    /** Feeds the rest of {@code in} to the digests; returns its length. */
    private static long digest(InputStream in, MessageDigest... digests) throws IOException {
        byte[] buffer = new byte[64 * 1024];
        long size = 0;
        for (int n; (n = in.read(buffer)) > 0; size += n) {
            for (MessageDigest d : digests) {
                d.update(buffer, 0, n);
            }
        }
        return size;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JVM", e);
        }
    }

    /** Why there is nothing to load for this platform, naming the platforms the jar has. */
    static String missingPlatformMessage(ClassLoader loader, String platform) {
        String where = "no clearclip native libraries for this platform, " + platform + " (os.name="
                + System.getProperty("os.name") + ", os.arch=" + System.getProperty("os.arch") + "): ";
        String fix = " Set -D" + LIBRARY_PATH_PROPERTY + " or " + LIBRARY_PATH_ENV
                + " to a directory holding " + ENGINE_LIBRARY + " and the ggml libraries built for it.";
        byte[] platforms = readResource(loader, RESOURCE_ROOT + PLATFORMS_INDEX);
        if (platforms == null) {
            return where + "resource " + RESOURCE_ROOT + platform + "/" + INDEX_NAME + " is not on the"
                    + " class path, nor any list of platforms (is the clearclip-native jar missing?)." + fix;
        }
        List<String> present = parseIndex(new String(platforms, StandardCharsets.UTF_8));
        if (present.isEmpty()) {
            return where + "the clearclip-native jar holds no native libraries at all." + fix;
        }
        String hint = "";
        if (platform.equals("linux-aarch64")) {
            hint = " A jar with linux-aarch64 natives is built with `make build ARM64=ON` (README).";
        }
        return where + "this jar supports only " + String.join(", ", present) + "." + hint + fix;
    }

    private static byte[] readResource(ClassLoader loader, String name) {
        try (InputStream in = loader.getResourceAsStream(name)) {
            return in == null ? null : in.readAllBytes();
        } catch (IOException e) {
            throw new NativeLibraryException("cannot read resource " + name, e);
        }
    }

    /**
     * A directory holding exactly the given files. Its name is a hash of their names and
     * contents; it is filled under a temporary name and renamed into place, so a directory found
     * under the final name is complete. Its files are still compared with the expected sizes and
     * SHA-256 digests before use, since the temporary directory may be shared with other users.
     */
    private static Path extractionDirectory(ClassLoader loader, Map<String, Library> contents, String hash) {
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
        Path dir = tmp.resolve("clearclip-native-" + hash);
        if (Files.isDirectory(dir) && holdsExactly(dir, contents)) {
            return dir;
        }
        Path staging = null;
        try {
            staging = createPrivateDirectory(tmp, dir.getFileName() + ".tmp-");
            for (Map.Entry<String, Library> e : contents.entrySet()) {
                try (InputStream in = loader.getResourceAsStream(e.getValue().resource())) {
                    if (in == null) {
                        throw new NativeLibraryException("the resource " + e.getValue().resource() + " vanished");
                    }
                    Files.copy(in, staging.resolve(e.getKey()));
                }
            }
            // a resource that changed since it was digested fails holdsExactly below
            if (Files.exists(dir)) {
                if (holdsExactly(dir, contents)) {
                    return dir; // another JVM finished extracting meanwhile
                }
                // Unusable leftover (damaged, or not ours): replace it.
                deleteRecursively(dir);
            }
            try {
                Files.move(staging, dir, StandardCopyOption.ATOMIC_MOVE);
                staging = null;
            } catch (FileAlreadyExistsException | DirectoryNotEmptyException raced) {
                // Another JVM extracted the same files at the same time; use its copy.
            } catch (AtomicMoveNotSupportedException e) {
                throw new NativeLibraryException("cannot rename " + staging + " to " + dir, e);
            }
            if (!holdsExactly(dir, contents)) {
                throw new NativeLibraryException(dir + " does not hold the expected libraries");
            }
            return dir;
        } catch (IOException e) {
            throw new NativeLibraryException("cannot extract the native libraries into " + tmp
                    + " (set -Djava.io.tmpdir, or -D" + LIBRARY_PATH_PROPERTY + "): " + e.getMessage(), e);
        } finally {
            if (staging != null) {
                try {
                    deleteRecursively(staging);
                } catch (IOException | UncheckedIOException ignored) {
                    // Best effort: a leftover staging directory is harmless.
                }
            }
        }
    }

    private static Path createPrivateDirectory(Path parent, String prefix) throws IOException {
        if (parent.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            return Files.createTempDirectory(parent, prefix,
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
        return Files.createTempDirectory(parent, prefix);
    }

    /** Whether each file in {@code dir} has the size and SHA-256 of its library in the jar. */
    private static boolean holdsExactly(Path dir, Map<String, Library> contents) {
        try {
            for (Map.Entry<String, Library> e : contents.entrySet()) {
                Path file = dir.resolve(e.getKey());
                if (!Files.isRegularFile(file) || Files.size(file) != e.getValue().size()) {
                    return false;
                }
                MessageDigest d = sha256();
                try (InputStream in = Files.newInputStream(file)) {
                    digest(in, d);
                }
                if (!MessageDigest.isEqual(d.digest(), e.getValue().sha256())) {
                    return false;
                }
            }
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static void deleteRecursively(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}

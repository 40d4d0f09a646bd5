package dev.clearclip.gguf.torch;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.clearclip.gguf.ModelFileException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Reads the tensors of a PyTorch checkpoint saved with {@code torch.save} (the zip format of PyTorch
 * 1.6 and later, e.g. open_clip's {@code open_clip_pytorch_model.bin}) and rewrites them as a
 * safetensors file, so the converters read one format.
 *
 * <p>The pickle inside is interpreted, never executed: only the objects a state dict is made of are
 * understood (dicts, {@code OrderedDict}, tuples, lists, numbers, strings, tensors rebuilt by
 * {@code torch._utils._rebuild_tensor_v2} / {@code _rebuild_parameter} from float or integer storages); any
 * other class in the file is refused by name. Tensors may be views (offset, strides) of a storage.
 */
public final class TorchCheckpoint {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_PICKLE_BYTES = 64 << 20;

    private TorchCheckpoint() {
    }

    /** A tensor of the checkpoint: a view of a storage. */
    record TensorRef(Storage storage, long offset, long[] shape, long[] stride) {
        long elementCount() {
            long n = 1;
            for (long d : shape) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        }
    }

    /** A storage: entry {@code data/<key>} of the archive, of one element type. */
    record Storage(String key, DType dtype, long elements) {
    }

    /**
     * The element types a CLIP checkpoint uses, with their safetensors names: floats for the
     * weights, and the int64 {@code position_ids} buffers that transformers checkpoints saved
     * before 4.31 carry (openai/clip-vit-base-patch16's {@code pytorch_model.bin}, for one).
     */
    enum DType {
        F32(4), F16(2), BF16(2), F64(8), I64(8), I32(4);

        final int size;

        DType(int size) {
            this.size = size;
        }

        static DType ofStorageClass(String name, Path file) {
            return switch (name) {
                case "FloatStorage" -> F32;
                case "HalfStorage" -> F16;
                case "BFloat16Storage" -> BF16;
                case "DoubleStorage" -> F64;
                case "LongStorage" -> I64;
                case "IntStorage" -> I32;
                default -> throw new ModelFileException(file + ": tensor storage torch." + name
                        + " is not a type the converter reads (float32, float16, bfloat16, float64, int64, int32)");
            };
        }
    }

    /**
     * Writes the checkpoint's tensors (its state dict, or the {@code state_dict} entry of a
     * training checkpoint) to {@code safetensors}, in the checkpoint's order and element types.
     *
     * @return the number of tensors written
     * @throws ModelFileException naming the file and what is not understood
     */
    public static int toSafetensors(Path checkpoint, Path safetensors) {
        try (ZipFile zip = openZip(checkpoint)) {
            String prefix = archivePrefix(zip, checkpoint);
            ZipEntry byteOrder = zip.getEntry(prefix + "byteorder");
            if (byteOrder != null && !new String(read(zip, byteOrder, 16, checkpoint), StandardCharsets.US_ASCII)
                    .strip().equals("little")) {
                throw new ModelFileException(checkpoint + ": saved on a big-endian machine; not supported");
            }
            byte[] pickle = read(zip, zip.getEntry(prefix + "data.pkl"), MAX_PICKLE_BYTES, checkpoint);
            Map<String, TensorRef> tensors = stateDict(new Unpickler(pickle, checkpoint).load(), checkpoint);
            write(zip, prefix, tensors, checkpoint, safetensors);
            return tensors.size();
        } catch (IOException e) {
            throw new ModelFileException(checkpoint + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static ZipFile openZip(Path checkpoint) throws IOException {
        try (InputStream in = Files.newInputStream(checkpoint)) {
            byte[] magic = in.readNBytes(4);
            if (magic.length < 4 || magic[0] != 'P' || magic[1] != 'K') {
                throw new ModelFileException(checkpoint + ": not a PyTorch zip checkpoint (torch.save of PyTorch 1.6 or "
                        + "later); older pickled files are not read: re-save it with a current PyTorch, or as safetensors");
            }
        }
        return new ZipFile(checkpoint.toFile());
    }

    private static String archivePrefix(ZipFile zip, Path checkpoint) {
        List<String> pickles = zip.stream().map(ZipEntry::getName).filter(n -> n.endsWith("data.pkl")
                && n.indexOf('/') == n.length() - "/data.pkl".length()).toList();
        if (pickles.size() != 1) {
            throw new ModelFileException(checkpoint + ": expected one <archive>/data.pkl in the zip, found "
                    + pickles.size());
        }
        return pickles.getFirst().substring(0, pickles.getFirst().length() - "data.pkl".length());
    }

    private static byte[] read(ZipFile zip, ZipEntry entry, long limit, Path checkpoint) throws IOException {
        if (entry == null) {
            throw new ModelFileException(checkpoint + ": missing archive entry");
        }
        if (entry.getSize() > limit) {
            throw new ModelFileException(checkpoint + ": entry " + entry.getName() + " is " + entry.getSize()
                    + " bytes, more than the " + limit + " accepted");
        }
        try (InputStream in = zip.getInputStream(entry)) {
            byte[] bytes = in.readNBytes((int) Math.min(limit, Integer.MAX_VALUE - 8) + 1);
            if (bytes.length > limit) {
                throw new ModelFileException(checkpoint + ": entry " + entry.getName() + " is larger than " + limit
                        + " bytes");
            }
            return bytes;
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, TensorRef> stateDict(Object root, Path checkpoint) {
        if (root instanceof Map<?, ?> map && map.get("state_dict") instanceof Map<?, ?> inner) {
            root = inner;
        }
        if (!(root instanceof Map<?, ?> map)) {
            throw new ModelFileException(checkpoint + ": holds a " + describe(root) + ", not a state dict of tensors");
        }
        Map<String, TensorRef> tensors = new LinkedHashMap<>();
        for (Map.Entry<?, ?> entry : map.entrySet()) {
            if (!(entry.getKey() instanceof String name) || !(entry.getValue() instanceof TensorRef tensor)) {
                throw new ModelFileException(checkpoint + ": state dict entry " + entry.getKey() + " is a "
                        + describe(entry.getValue()) + ", not a tensor");
            }
            tensors.put(name, tensor);
        }
        return tensors;
    }

    private static String describe(Object o) {
        return o == null ? "None" : o instanceof Global g ? g.module + "." + g.name : o.getClass().getSimpleName();
    }

    private static void write(ZipFile zip, String prefix, Map<String, TensorRef> tensors, Path checkpoint, Path out)
            throws IOException {
        ObjectNode header = JSON.createObjectNode();
        header.putObject("__metadata__").put("format", "pt").put("source", checkpoint.getFileName().toString());
        long offset = 0;
        for (Map.Entry<String, TensorRef> e : tensors.entrySet()) {
            TensorRef t = e.getValue();
            long bytes = Math.multiplyExact(t.elementCount(), t.storage.dtype.size);
            ObjectNode info = header.putObject(e.getKey());
            info.put("dtype", t.storage.dtype.name());
            info.putArray("shape").addAll(Arrays.stream(t.shape).mapToObj(JSON.getNodeFactory()::numberNode).toList());
            info.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        byte[] headerBytes = Arrays.copyOf(json, padded);
        Arrays.fill(headerBytes, json.length, padded, (byte) ' ');
        Path temporary = out.resolveSibling("." + out.getFileName() + ".part");
        try (OutputStream os = Files.newOutputStream(temporary)) {
            os.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
            os.write(headerBytes);
            Map<String, byte[]> cache = new HashMap<>();
            for (Map.Entry<String, TensorRef> e : tensors.entrySet()) {
                TensorRef t = e.getValue();
                byte[] storage = cache.get(t.storage.key);
                if (storage == null) {
                    cache.clear(); // state dicts rarely share storages; keep one in memory
                    storage = read(zip, zip.getEntry(prefix + "data/" + t.storage.key), Integer.MAX_VALUE - 16L,
                            checkpoint);
                    cache.put(t.storage.key, storage);
                }
                os.write(gather(t, storage, e.getKey(), checkpoint));
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temporary);
            throw e;
        }
        Files.move(temporary, out, StandardCopyOption.REPLACE_EXISTING);
    }

    /** The tensor's elements in row-major order, from its view of the storage. */
    private static byte[] gather(TensorRef t, byte[] storage, String name, Path checkpoint) {
        int size = t.storage.dtype.size;
        long count = t.elementCount();
        if (count == 0) {
            return new byte[0];
        }
        long last = t.offset;
        for (int d = 0; d < t.shape.length; d++) {
            if (t.stride[d] < 0) {
                throw new ModelFileException(checkpoint + ": tensor '" + name + "' has a negative stride");
            }
            last += (t.shape[d] - 1) * t.stride[d];
        }
        if (t.offset < 0 || (last + 1) * size > storage.length) {
            throw new ModelFileException(checkpoint + ": tensor '" + name + "' reaches past the end of its storage");
        }
        byte[] out = new byte[Math.toIntExact(count * size)];
        if (isContiguous(t)) {
            System.arraycopy(storage, (int) (t.offset * size), out, 0, out.length);
            return out;
        }
        long[] index = new long[t.shape.length];
        for (long i = 0; i < count; i++) {
            long at = t.offset;
            for (int d = 0; d < index.length; d++) {
                at += index[d] * t.stride[d];
            }
            System.arraycopy(storage, (int) (at * size), out, (int) (i * size), size);
            for (int d = index.length - 1; d >= 0; d--) {
                if (++index[d] < t.shape[d]) {
                    break;
                }
                index[d] = 0;
            }
        }
        return out;
    }

    private static boolean isContiguous(TensorRef t) {
        long expected = 1;
        for (int d = t.shape.length - 1; d >= 0; d--) {
            if (t.shape[d] != 1 && t.stride[d] != expected) {
                return false;
            }
            expected *= t.shape[d];
        }
        return true;
    }

    /** A class or function named in the pickle, never imported. */
    record Global(String module, String name) {
    }

    /** A pickle tuple. */
    record Tuple(List<Object> items) {
    }

    /**
     * The pickle opcodes of protocols 2 to 4 that {@code torch.save} uses for state dicts; objects are
     * built only from the classes listed in {@link #reduce}.
     */
    private static final class Unpickler {
        private static final Object MARK = new Object();
        private final ByteBuffer in;
        private final Path file;
        private final List<Object> stack = new ArrayList<>();
        private final Map<Long, Object> memo = new HashMap<>();

        Unpickler(byte[] data, Path file) {
            this.in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
            this.file = file;
        }

        Object load() {
            try {
                while (true) {
                    int op = in.get() & 0xff;
                    switch (op) {
                        case 0x80 -> in.get(); // PROTO
                        case 0x95 -> in.getLong(); // FRAME
                        case '.' -> { // STOP
                            return pop();
                        }
                        case '(' -> stack.add(MARK);
                        case '}' -> stack.add(new LinkedHashMap<>());
                        case ']' -> stack.add(new ArrayList<>());
                        case ')' -> stack.add(new Tuple(List.of()));
                        case 'N' -> stack.add(null);
                        case 0x88 -> stack.add(Boolean.TRUE);
                        case 0x89 -> stack.add(Boolean.FALSE);
                        case 'K' -> stack.add((long) (in.get() & 0xff));
                        case 'M' -> stack.add((long) (in.getShort() & 0xffff));
                        case 'J' -> stack.add((long) in.getInt());
                        case 0x8a -> stack.add(long1());
                        case 'G' -> stack.add(Double.longBitsToDouble(Long.reverseBytes(in.getLong()))); // big-endian
                        case 'X' -> stack.add(string(in.getInt() & 0xffffffffL));
                        case 0x8c -> stack.add(string(in.get() & 0xff));
                        case 0x8d -> stack.add(string(in.getLong()));
                        case 'U' -> stack.add(latin1(in.get() & 0xff));
                        case 'T' -> stack.add(latin1(in.getInt() & 0xffffffffL));
                        case 'C' -> stack.add(bytes(in.get() & 0xff));
                        case 'B' -> stack.add(bytes(in.getInt() & 0xffffffffL));
                        case 'c' -> stack.add(new Global(line(), line()));
                        case 0x93 -> { // STACK_GLOBAL
                            String name = (String) pop();
                            stack.add(new Global((String) pop(), name));
                        }
                        case 'q' -> memo.put((long) (in.get() & 0xff), peek());
                        case 'r' -> memo.put(in.getInt() & 0xffffffffL, peek());
                        case 0x94 -> memo.put((long) memo.size(), peek());
                        case 'h' -> stack.add(memoGet(in.get() & 0xff));
                        case 'j' -> stack.add(memoGet(in.getInt() & 0xffffffffL));
                        case 't' -> stack.add(new Tuple(popMark()));
                        case 0x85 -> stack.add(new Tuple(Arrays.asList(pop())));
                        case 0x86 -> {
                            Object b = pop();
                            stack.add(new Tuple(Arrays.asList(pop(), b)));
                        }
                        case 0x87 -> {
                            Object c = pop();
                            Object b = pop();
                            stack.add(new Tuple(Arrays.asList(pop(), b, c)));
                        }
                        case 'l' -> stack.add(new ArrayList<>(popMark()));
                        case 'a' -> {
                            Object v = pop();
                            list(peek()).add(v);
                        }
                        case 'e' -> {
                            List<Object> items = popMark();
                            list(peek()).addAll(items);
                        }
                        case 's' -> {
                            Object v = pop();
                            Object k = pop();
                            dict(peek()).put(k, v);
                        }
                        case 'u' -> {
                            List<Object> items = popMark();
                            Map<Object, Object> d = dict(peek());
                            for (int i = 0; i + 1 < items.size(); i += 2) {
                                d.put(items.get(i), items.get(i + 1));
                            }
                        }
                        case 'd' -> {
                            List<Object> items = popMark();
                            Map<Object, Object> d = new LinkedHashMap<>();
                            for (int i = 0; i + 1 < items.size(); i += 2) {
                                d.put(items.get(i), items.get(i + 1));
                            }
                            stack.add(d);
                        }
                        case 'Q' -> stack.add(persistent(pop()));
                        case 'R' -> {
                            Object args = pop();
                            stack.add(reduce(pop(), args));
                        }
                        case 'b' -> pop(); // BUILD: the state of an OrderedDict (_metadata) is not needed
                        case '0' -> pop();
                        default -> throw bad("pickle opcode 0x" + Integer.toHexString(op) + " at byte "
                                + (in.position() - 1) + " is not one a state dict uses");
                    }
                }
            } catch (java.nio.BufferUnderflowException e) {
                throw bad("the pickle is truncated");
            } catch (ClassCastException | IndexOutOfBoundsException | NullPointerException e) {
                throw bad("the pickle is malformed (" + e.getClass().getSimpleName() + " at byte " + in.position() + ")");
            }
        }

        private Object reduce(Object callable, Object args) {
            if (!(callable instanceof Global g) || !(args instanceof Tuple t)) {
                throw bad("a call of " + describe(callable) + " is not understood");
            }
            List<Object> a = t.items();
            String name = g.module + "." + g.name;
            return switch (name) {
                case "collections.OrderedDict" -> new LinkedHashMap<>();
                case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor" ->
                        new TensorRef((Storage) a.get(0), (Long) a.get(1), longs(a.get(2)), longs(a.get(3)));
                case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state" -> a.get(0);
                default -> throw bad("it contains a " + name + ", which a state dict of tensors does not; only "
                        + "tensors and dicts are read (nothing in the file is executed)");
            };
        }

        private Object persistent(Object pid) {
            if (!(pid instanceof Tuple t) || t.items().size() < 5 || !"storage".equals(t.items().get(0))
                    || !(t.items().get(1) instanceof Global type)) {
                throw bad("a persistent id other than a tensor storage");
            }
            String key = String.valueOf(t.items().get(2));
            if (!key.matches("[A-Za-z0-9_]+")) {
                throw bad("storage key '" + key + "' is not a plain name");
            }
            return new Storage(key, DType.ofStorageClass(type.name, file), (Long) t.items().get(4));
        }

        private static long[] longs(Object tuple) {
            List<Object> items = ((Tuple) tuple).items();
            long[] out = new long[items.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = (Long) items.get(i);
            }
            return out;
        }

        private long long1() {
            int n = in.get() & 0xff;
            if (n > 8) {
                throw bad("an integer of " + n + " bytes");
            }
            long v = 0;
            for (int i = 0; i < n; i++) {
                v |= (long) (in.get() & 0xff) << (8 * i);
            }
            if (n > 0 && n < 8 && (v & (1L << (8 * n - 1))) != 0) {
                v -= 1L << (8 * n);
            }
            return v;
        }

        private byte[] bytes(long n) {
            if (n > in.remaining()) {
                throw bad("the pickle is truncated");
            }
            byte[] b = new byte[(int) n];
            in.get(b);
            return b;
        }

        private String string(long n) {
            return new String(bytes(n), StandardCharsets.UTF_8);
        }

        private String latin1(long n) {
            return new String(bytes(n), StandardCharsets.ISO_8859_1);
        }

        private String line() {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            byte c;
            while ((c = in.get()) != '\n') {
                b.write(c);
            }
            return b.toString(StandardCharsets.UTF_8);
        }

        private Object memoGet(long key) {
            if (!memo.containsKey(key)) {
                throw bad("memo entry " + key + " used before it is set");
            }
            return memo.get(key);
        }

        private Object pop() {
            Object o = stack.removeLast();
            if (o == MARK) {
                throw bad("a mark where a value was expected");
            }
            return o;
        }

        private Object peek() {
            return stack.getLast();
        }

        private List<Object> popMark() {
            int mark = stack.lastIndexOf(MARK);
            if (mark < 0) {
                throw bad("no mark on the stack");
            }
            List<Object> items = new ArrayList<>(stack.subList(mark + 1, stack.size()));
            stack.subList(mark, stack.size()).clear();
            return Collections.unmodifiableList(items);
        }

        @SuppressWarnings("unchecked")
        private List<Object> list(Object o) {
            if (!(o instanceof List<?>)) {
                throw bad("append to a " + describe(o));
            }
            return (List<Object>) o;
        }

        @SuppressWarnings("unchecked")
        private Map<Object, Object> dict(Object o) {
            if (!(o instanceof Map<?, ?>)) {
                throw bad("item set on a " + describe(o));
            }
            return (Map<Object, Object>) o;
        }

        private ModelFileException bad(String what) {
            return new ModelFileException(file + ": " + what);
        }
    }
}

package dev.clearclip;

/**
 * One zero-shot classification result.
 *
 * @param classIndex  index of the class in the class set
 * @param name        display name of the class
 * @param probability softmax probability over the classes
 * @param similarity  best cosine similarity between the image and the class's names
 */
public record Classification(int classIndex, String name, double probability, double similarity) {
}

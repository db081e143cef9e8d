package com.foxtrackr.fanout;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * A generator of test inputs from a seeded random source, for IngestFuzzTest: the same seed gives the same
 * inputs, so a failure names its seed and can be replayed with -Dfuzz.seed=N.
 */
@FunctionalInterface
interface Gen<T> {
    T next(SplittableRandom random);

    default <R> Gen<R> map(Function<T, R> f) {
        return random -> f.apply(next(random));
    }

    default Gen<List<T>> list(int min, int max) {
        return random -> {
            int n = random.nextInt(min, max + 1);
            List<T> values = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                values.add(next(random));
            }
            return values;
        };
    }

    static <T> Gen<T> just(T value) {
        return random -> value;
    }

    @SafeVarargs
    static <T> Gen<T> of(T... values) {
        return random -> values[random.nextInt(values.length)];
    }

    @SafeVarargs
    static <T> Gen<T> oneOf(Gen<? extends T>... choices) {
        return random -> choices[random.nextInt(choices.length)].next(random);
    }

    /** A choice and how often it is taken, relative to the others. */
    record Weighted<T>(int weight, Gen<? extends T> gen) {
    }

    static <T> Weighted<T> w(int weight, Gen<? extends T> gen) {
        return new Weighted<>(weight, gen);
    }

    @SafeVarargs
    static <T> Gen<T> frequency(Weighted<T>... choices) {
        int total = 0;
        for (Weighted<T> choice : choices) {
            total += choice.weight();
        }
        int sum = total;
        return random -> {
            int pick = random.nextInt(sum);
            for (Weighted<T> choice : choices) {
                pick -= choice.weight();
                if (pick < 0) {
                    return choice.gen().next(random);
                }
            }
            throw new IllegalStateException("weights add up to " + sum);
        };
    }

    static Gen<Long> longs(long min, long max) {
        return random -> max == Long.MAX_VALUE ? min + (random.nextLong() >>> 1) % (max - min) : random.nextLong(min, max + 1);
    }

    /** Strings of the given lengths from the characters given (pairs of ranges: from, to, from, to, ...). */
    static Gen<String> strings(int minLength, int maxLength, char... ranges) {
        return random -> {
            int n = random.nextInt(minLength, maxLength + 1);
            StringBuilder text = new StringBuilder(n);
            for (int i = 0; i < n; i++) {
                int range = random.nextInt(ranges.length / 2) * 2;
                text.append((char) random.nextInt(ranges[range], ranges[range + 1] + 1));
            }
            return text.toString();
        };
    }

    /** Strings made of the given characters. */
    static Gen<String> stringsOf(int minLength, int maxLength, char[] characters) {
        return random -> {
            int n = random.nextInt(minLength, maxLength + 1);
            StringBuilder text = new StringBuilder(n);
            for (int i = 0; i < n; i++) {
                text.append(characters[random.nextInt(characters.length)]);
            }
            return text.toString();
        };
    }

    static <K, V> Gen<Map<K, V>> maps(Gen<K> keys, Gen<V> values, int max) {
        return random -> {
            int n = random.nextInt(max + 1);
            Map<K, V> map = new LinkedHashMap<>();
            for (int i = 0; i < n; i++) {
                map.put(keys.next(random), values.next(random));
            }
            return map;
        };
    }
}

package dev.loomstack.tcp;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The congestion controllers a connection can use, by their configuration names. */
public enum CongestionControlAlgorithm {
    CUBIC("cubic"),
    NEWRENO("newreno");

    private final String configName;

    CongestionControlAlgorithm(String configName) {
        this.configName = configName;
    }

    public String configName() {
        return configName;
    }

    public CongestionControl create(int mss) {
        return switch (this) {
            case CUBIC -> new Cubic(mss);
            case NEWRENO -> new NewReno(mss);
        };
    }

    public static CongestionControlAlgorithm fromName(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        for (CongestionControlAlgorithm a : values()) {
            if (a.configName.equals(n)) {
                return a;
            }
        }
        throw new IllegalArgumentException("unknown congestion control '" + name + "'; valid: "
                + Arrays.stream(values()).map(CongestionControlAlgorithm::configName).collect(Collectors.joining(", ")));
    }
}

package dev.loomstack.config;

import dev.loomstack.engine.NetworkMap;
import dev.loomstack.packet.IpPrefix;
import tools.jackson.databind.DeserializationContext;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.annotation.JsonDeserialize;
import tools.jackson.databind.annotation.JsonSerialize;
import tools.jackson.databind.deser.std.FromStringDeserializer;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.module.SimpleModule;
import tools.jackson.databind.ser.std.ToStringSerializer;

/**
 * The JSON of {@code state.json} and of the {@code initial-netmap} document: the engine's
 * {@code NetworkMap} and {@code Node} by their components, which are the admin API's netmap document
 * field for field (see {@link NetmapDocument}), prefixes as text parsed strictly ({@code 10.0.0.0/24}; host bits set are an
 * error), and the limits as {@link StateStore.SavedLimits}.
 *
 * <p>Its own mapper, not the web layer's: a {@code spring.jackson.*} setting for the API must not
 * change the file format. Keys it does not know are read past, as the service's mapper always did:
 * files written while {@code state.json} held the API's documents carry their derived validation
 * flags ({@code selfAddressed}, {@code perClientWithinGlobal}).
 */
final class StateFormat {
    static final JsonMapper JSON = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .addMixIn(NetworkMap.class, NetworkMapAsDocument.class)
            .addModule(new SimpleModule("state.json prefixes")
                    .addSerializer(IpPrefix.class, ToStringSerializer.instance)
                    .addDeserializer(IpPrefix.class, new PrefixText()))
            .build();

    private StateFormat() {}

    /** A netmap is read and written as its {@link NetmapDocument}. */
    @JsonSerialize(converter = NetmapDocument.Writer.class)
    @JsonDeserialize(converter = NetmapDocument.Reader.class)
    private abstract static class NetworkMapAsDocument {}

    /** A prefix as its text; a malformed one is a JSON error naming where it stands. */
    private static final class PrefixText extends FromStringDeserializer<IpPrefix> {
        PrefixText() {
            super(IpPrefix.class);
        }

        @Override
        protected IpPrefix _deserialize(String text, DeserializationContext ctxt) {
            return IpPrefix.parseStrict(text);
        }
    }
}

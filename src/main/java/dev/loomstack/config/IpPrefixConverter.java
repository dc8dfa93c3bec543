package dev.loomstack.config;

import dev.loomstack.packet.IpPrefix;
import org.springframework.core.convert.converter.Converter;

/**
 * Binds {@code loomstack.*} prefixes as {@link IpPrefix} values, parsed strictly: a malformed one, or
 * one with host bits set ({@code 10.0.0.1/24}), fails the boot at bind time and Boot's report names
 * the property ({@code loomstack.self-addresses[0]}) and the value.
 */
final class IpPrefixConverter implements Converter<String, IpPrefix> {
    @Override
    public IpPrefix convert(String source) {
        return IpPrefix.parseStrict(source.strip());
    }
}

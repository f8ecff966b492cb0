/** TypeDoc plugin: each property of DEFAULTS, CLUSTER_DEFAULTS and SOCKET_IO_DEFAULTS shows the documentation of the option it defaults. */
import { Converter, ReflectionKind } from 'typedoc';

/** Each frozen defaults object, and the options interfaces whose properties it gives defaults for. */
const DEFAULTS_OF = {
  DEFAULTS: ['AdapterOptions', 'LameduckOptions', 'SignalOptions'],
  CLUSTER_DEFAULTS: ['ClusterOptions'],
  SOCKET_IO_DEFAULTS: ['SocketIoDrainOptions'],
};

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    const { project } = context;
    const interfaces = project.getReflectionsByKind(ReflectionKind.Interface);
    for (const property of project.getReflectionsByKind(ReflectionKind.Property)) {
      // A property of `Readonly<{ … }>`, the type Object.freeze() gives DEFAULTS: its parent is the type literal.
      const owner = property.parent?.kindOf(ReflectionKind.TypeLiteral) ? property.parent.parent : undefined;
      const sources = owner?.kindOf(ReflectionKind.Variable) ? DEFAULTS_OF[owner.name] : undefined;
      if (!sources || property.hasComment()) continue;
      const option = sources
        .map((name) => interfaces.find((candidate) => candidate.name === name)?.getChildByName(property.name))
        .find((found) => found?.hasComment());
      // No option of that name: the property stays undocumented, and TypeDoc's validation fails the build.
      if (option) property.comment = option.comment.clone();
    }
  });
}
